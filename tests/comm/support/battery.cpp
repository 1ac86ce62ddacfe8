#include "tests/comm/support/battery.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace hpcless::comm::testing {

namespace {

struct Mat {
  int64_t a, b, c, d;
  bool operator==(const Mat&) const = default;
};
constexpr int64_t kMod = 1'000'003;

Mat mul(const Mat& x, const Mat& y) {
  return {(x.a * y.a + x.b * y.c) % kMod, (x.a * y.b + x.b * y.d) % kMod,
          (x.c * y.a + x.d * y.c) % kMod, (x.c * y.b + x.d * y.d) % kMod};
}

Mat mat_gen(int rank, size_t i) {
  const int64_t r = rank;
  const int64_t k = static_cast<int64_t>(i);
  return {1 + (r + k) % 5, r + 1 + k % 3, (k + r) % 3, 1 + r % 2};
}

std::string show(const Mat& m) {
  return "[" + std::to_string(m.a) + " " + std::to_string(m.b) + "; " + std::to_string(m.c) + " " +
         std::to_string(m.d) + "]";
}
template <class T>
std::string show(const T& v) {
  return std::to_string(v);
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

template <class T>
void expect_eq(const T& got, const T& want, const std::string& what, size_t i) {
  if (!(got == want))
    fail(what + ": element " + std::to_string(i) + " is " + show(got) + ", expected " + show(want));
}

int32_t payload(int rank, size_t i) { return rank * 1'000'003 + static_cast<int32_t>(i); }

template <class T>
T gen(Op op, int rank, size_t i) {
  switch (op) {
    case Op::kSum:
      return static_cast<T>(static_cast<int>((rank * 7 + i * 3) % 11) - 5);
    case Op::kProd: {
      const int k = static_cast<int>((rank + i) % 7);
      return static_cast<T>(k == 0 ? 2 : (k == 3 ? -1 : 1));
    }
    case Op::kMin:
    case Op::kMax:
      return static_cast<T>(static_cast<int>((rank * 31 + i * 17) % 101) - 50);
  }
  return T{};
}

// op over ranks 0..last of element i.
template <class T>
T fold(Op op, int last, size_t i) {
  T acc = gen<T>(op, 0, i);
  for (int r = 1; r <= last; ++r) {
    const T v = gen<T>(op, r, i);
    switch (op) {
      case Op::kSum:
        acc = static_cast<T>(acc + v);
        break;
      case Op::kProd:
        acc = static_cast<T>(acc * v);
        break;
      case Op::kMin:
        acc = v < acc ? v : acc;
        break;
      case Op::kMax:
        acc = v > acc ? v : acc;
        break;
    }
  }
  return acc;
}

Mat mat_fold(int last, size_t i) {
  Mat acc = mat_gen(0, i);
  for (int r = 1; r <= last; ++r) acc = mul(acc, mat_gen(r, i));
  return acc;
}

// Sets a tuning for the scope (every rank runs the same scopes in the same order).
class TuningScope {
 public:
  TuningScope(Communicator& c, const CollectiveTuning& t) : c_(c), saved_(c.tuning()) {
    c.set_tuning(t);
  }
  ~TuningScope() { c_.set_tuning(saved_); }

 private:
  Communicator& c_;
  CollectiveTuning saved_;
};

std::string label(const std::string& op, const std::string& algo, size_t n, int root = -1) {
  std::string s = op + "[" + algo + ", n=" + std::to_string(n);
  if (root >= 0) s += ", root=" + std::to_string(root);
  return s + "]";
}

class Battery {
 public:
  Battery(Communicator& c, const BatteryOptions& o)
      : c_(c), p_(c.size()), me_(c.rank()), large_(o.large_elems) {
    roots_ = {0};
    if (p_ > 1) roots_.push_back(p_ - 1);
    if (p_ > 2) roots_.push_back(p_ / 2);
  }

  void run() {
    for (Algorithm a : {Algorithm::kAuto, Algorithm::kLinear, Algorithm::kDissemination}) {
      CollectiveTuning t;
      t.barrier = a;
      TuningScope scope(c_, t);
      for (int i = 0; i < 3; ++i) c_.barrier();
    }
    bcast();
    reduce_and_allreduce();
    gather_scatter();
    allgather();
    alltoall();
    reduce_scatter();
    scan();
    noncommutative();
    c_.barrier();
  }

 private:
  // ---------------- bcast ----------------
  void check_bcast(size_t n, int root, const std::string& algo) {
    std::vector<int32_t> buf(n, -1);
    if (me_ == root)
      for (size_t i = 0; i < n; ++i) buf[i] = payload(root, i);
    c_.bcast(buf, root);
    for (size_t i = 0; i < n; ++i)
      expect_eq(buf[i], payload(root, i), label("bcast", algo, n, root), i);
  }

  void bcast() {
    for (Algorithm a : {Algorithm::kBinomial, Algorithm::kLinear, Algorithm::kPipeline,
                        Algorithm::kScatterAllgather}) {
      CollectiveTuning t;
      t.bcast = a;
      t.bcast_segment_bytes = 256;  // many segments even for small sizes
      TuningScope scope(c_, t);
      for (size_t n : sizes_)
        for (int root : forced_roots()) check_bcast(n, root, std::string(algorithm_name(a)));
    }
    if (large_ == 0) return;
    check_bcast(large_, p_ - 1, "auto");
    CollectiveTuning t;
    t.bcast = Algorithm::kScatterAllgather;
    TuningScope scope(c_, t);
    check_bcast(large_ + 3, 0, "scatter_allgather");
  }

  // ---------------- reduce / allreduce ----------------
  template <class T>
  void check_reduce(Op op, size_t n, int root, const std::string& algo) {
    std::vector<T> in(n), out(n, T(77));
    for (size_t i = 0; i < n; ++i) in[i] = gen<T>(op, me_, i);
    c_.reduce(in, out, op, root);
    if (me_ != root) return;
    const std::string what = label(std::string("reduce-") + detail::op_name(op), algo, n, root);
    for (size_t i = 0; i < n; ++i) expect_eq(out[i], fold<T>(op, p_ - 1, i), what, i);
  }

  template <class T>
  void check_allreduce(Op op, size_t n, const std::string& algo, bool in_place = false) {
    std::vector<T> in(n), out(n, T(77));
    for (size_t i = 0; i < n; ++i) in[i] = gen<T>(op, me_, i);
    if (in_place) {
      c_.allreduce(in, op);
      out = in;
    } else {
      c_.allreduce(in, out, op);
    }
    const std::string what = label(
        std::string("allreduce-") + detail::op_name(op) + (in_place ? "-inplace" : ""), algo, n);
    for (size_t i = 0; i < n; ++i) expect_eq(out[i], fold<T>(op, p_ - 1, i), what, i);
  }

  template <class T>
  void every_op(size_t n) {
    for (Op op : {Op::kSum, Op::kProd, Op::kMin, Op::kMax}) {
      check_allreduce<T>(op, n, "auto");
      check_reduce<T>(op, n, roots_.back(), "auto");
    }
  }

  void reduce_and_allreduce() {
    every_op<int32_t>(1000);
    every_op<int64_t>(1000);
    every_op<float>(1000);
    every_op<double>(1000);
    every_op<int32_t>(1);
    for (Algorithm a :
         {Algorithm::kRecursiveDoubling, Algorithm::kRabenseifner, Algorithm::kRing}) {
      CollectiveTuning t;
      t.allreduce = a;
      TuningScope scope(c_, t);
      for (size_t n : sizes_) {
        check_allreduce<int32_t>(Op::kSum, n, std::string(algorithm_name(a)));
        check_allreduce<double>(Op::kMax, n, std::string(algorithm_name(a)), true);
      }
    }
    for (Algorithm a : {Algorithm::kBinomial, Algorithm::kReduceScatterGather}) {
      CollectiveTuning t;
      t.reduce = a;
      TuningScope scope(c_, t);
      for (size_t n : sizes_)
        for (int root : forced_roots())
          check_reduce<int64_t>(Op::kSum, n, root, std::string(algorithm_name(a)));
    }
    if (large_ == 0) return;
    check_allreduce<float>(Op::kSum, large_, "auto");
    check_allreduce<int32_t>(Op::kMax, large_ + 1, "auto", true);
    check_reduce<int32_t>(Op::kSum, large_, roots_.back(), "auto");
    CollectiveTuning t;
    t.allreduce = Algorithm::kRing;
    TuningScope scope(c_, t);
    check_allreduce<double>(Op::kSum, large_ / 2 + 5, "ring");
  }

  // ---------------- gather / scatter ----------------
  void check_gather(size_t n, int root, const std::string& algo) {
    std::vector<int32_t> in(n), out(me_ == root ? n * p_ : 0, -1);
    for (size_t i = 0; i < n; ++i) in[i] = payload(me_, i);
    c_.gather(in, out, root);
    if (me_ != root) return;
    for (int r = 0; r < p_; ++r)
      for (size_t i = 0; i < n; ++i)
        expect_eq(out[r * n + i], payload(r, i), label("gather", algo, n, root), r * n + i);
  }

  void check_scatter(size_t n, int root, const std::string& algo) {
    std::vector<int32_t> in(me_ == root ? n * p_ : 0), out(n, -1);
    if (me_ == root)
      for (int r = 0; r < p_; ++r)
        for (size_t i = 0; i < n; ++i) in[r * n + i] = payload(r, i);
    c_.scatter(in, out, root);
    for (size_t i = 0; i < n; ++i)
      expect_eq(out[i], payload(me_, i), label("scatter", algo, n, root), i);
  }

  // Uneven blocks (some empty) with gaps between them.
  void vcounts(size_t n, std::vector<size_t>& counts, std::vector<size_t>& displs, size_t& total) {
    counts.resize(p_);
    displs.resize(p_);
    total = 0;
    for (int r = 0; r < p_; ++r) {
      counts[r] = r % 3 == 1 ? 0 : n + static_cast<size_t>(r);
      displs[r] = total + static_cast<size_t>(r);
      total = displs[r] + counts[r];
    }
  }

  void check_gatherv(size_t n, int root) {
    std::vector<size_t> counts, displs;
    size_t total;
    vcounts(n, counts, displs, total);
    std::vector<int32_t> in(counts[me_]), out(me_ == root ? total : 0, -7);
    for (size_t i = 0; i < in.size(); ++i) in[i] = payload(me_, i);
    c_.gatherv(in, out, counts, displs, root);
    if (me_ != root) return;
    const std::string what = label("gatherv", "linear", n, root);
    for (int r = 0; r < p_; ++r)
      for (size_t i = 0; i < counts[r]; ++i) expect_eq(out[displs[r] + i], payload(r, i), what, i);
    for (int r = 1; r < p_; ++r)  // gaps untouched
      for (size_t g = displs[r - 1] + counts[r - 1]; g < displs[r]; ++g)
        expect_eq(out[g], -7, what, g);
  }

  void check_scatterv(size_t n, int root) {
    std::vector<size_t> counts, displs;
    size_t total;
    vcounts(n, counts, displs, total);
    std::vector<int32_t> in(me_ == root ? total : 0), out(counts[me_], -1);
    if (me_ == root)
      for (int r = 0; r < p_; ++r)
        for (size_t i = 0; i < counts[r]; ++i) in[displs[r] + i] = payload(r, i);
    c_.scatterv(in, counts, displs, out, root);
    for (size_t i = 0; i < out.size(); ++i)
      expect_eq(out[i], payload(me_, i), label("scatterv", "linear", n, root), i);
  }

  void gather_scatter() {
    for (Algorithm a : {Algorithm::kBinomial, Algorithm::kLinear}) {
      CollectiveTuning t;
      t.gather = a;
      TuningScope scope(c_, t);
      for (size_t n : sizes_)
        for (int root : forced_roots()) {
          check_gather(n, root, std::string(algorithm_name(a)));
          check_scatter(n, root, std::string(algorithm_name(a)));
        }
    }
    for (size_t n : {size_t{0}, size_t{1}, size_t{13}})
      for (int root : roots_) {
        check_gatherv(n, root);
        check_scatterv(n, root);
      }
    if (large_ == 0) return;
    check_gather(large_ / p_ + 1, roots_.back(), "auto");
    check_scatter(large_ / p_ + 1, roots_.back(), "auto");
    check_gatherv(large_ / p_, 0);
  }

  // ---------------- allgather / alltoall ----------------
  void check_allgather(size_t n, const std::string& algo) {
    std::vector<int32_t> in(n), out(n * p_, -1);
    for (size_t i = 0; i < n; ++i) in[i] = payload(me_, i);
    c_.allgather(in, out);
    for (int r = 0; r < p_; ++r)
      for (size_t i = 0; i < n; ++i)
        expect_eq(out[r * n + i], payload(r, i), label("allgather", algo, n), r * n + i);
  }

  void allgather() {
    for (Algorithm a : {Algorithm::kBruck, Algorithm::kRing}) {
      CollectiveTuning t;
      t.allgather = a;
      TuningScope scope(c_, t);
      for (size_t n : sizes_) check_allgather(n, std::string(algorithm_name(a)));
    }
    if (large_ != 0) check_allgather(large_ / p_ + 2, "auto");
  }

  static int64_t enc(int from, int to, size_t i) {
    return int64_t{from} * 1'000'000'000 + int64_t{to} * 1'000'000 + static_cast<int64_t>(i);
  }

  void check_alltoall(size_t n, const std::string& algo) {
    std::vector<int64_t> in(n * p_), out(n * p_, -1);
    for (int j = 0; j < p_; ++j)
      for (size_t i = 0; i < n; ++i) in[j * n + i] = enc(me_, j, i);
    c_.alltoall(in, out);
    for (int r = 0; r < p_; ++r)
      for (size_t i = 0; i < n; ++i)
        expect_eq(out[r * n + i], enc(r, me_, i), label("alltoall", algo, n), r * n + i);
  }

  void alltoall() {
    for (Algorithm a : {Algorithm::kLinear, Algorithm::kPairwise}) {
      CollectiveTuning t;
      t.alltoall = a;
      TuningScope scope(c_, t);
      for (size_t n : sizes_) check_alltoall(n, std::string(algorithm_name(a)));
    }
    if (large_ != 0) check_alltoall(large_ / (4 * p_) + 1, "auto");
  }

  // ---------------- reduce_scatter ----------------
  template <class T>
  void check_reduce_scatter(Op op, size_t n, const std::string& algo) {
    std::vector<size_t> counts(p_);
    size_t total = 0;
    for (int r = 0; r < p_; ++r) {
      counts[r] = r % 4 == 2 ? 0 : n + static_cast<size_t>(r % 3);
      total += counts[r];
    }
    size_t mine = 0;
    for (int r = 0; r < me_; ++r) mine += counts[r];
    std::vector<T> in(total), out(counts[me_], T(77));
    for (size_t i = 0; i < total; ++i) in[i] = gen<T>(op, me_, i);
    c_.reduce_scatter(in, out, counts, op);
    const std::string what = label(std::string("reduce_scatter-") + detail::op_name(op), algo, n);
    for (size_t i = 0; i < out.size(); ++i)
      expect_eq(out[i], fold<T>(op, p_ - 1, mine + i), what, i);
  }

  void reduce_scatter() {
    for (Algorithm a : {Algorithm::kRing, Algorithm::kReduceThenScatter}) {
      CollectiveTuning t;
      t.reduce_scatter = a;
      TuningScope scope(c_, t);
      for (size_t n : sizes_)
        check_reduce_scatter<int32_t>(Op::kSum, n, std::string(algorithm_name(a)));
      check_reduce_scatter<float>(Op::kMin, 100, std::string(algorithm_name(a)));
    }
    check_reduce_scatter<int64_t>(Op::kProd, 50, "auto");
    check_reduce_scatter<double>(Op::kMax, 50, "auto");
    if (large_ != 0) check_reduce_scatter<int32_t>(Op::kSum, large_ / p_, "auto");
    // Equal blocks.
    std::vector<int32_t> in(5 * p_), out(5, -1);
    for (size_t i = 0; i < in.size(); ++i) in[i] = gen<int32_t>(Op::kSum, me_, i);
    c_.reduce_scatter_block(in, out, Op::kSum);
    for (size_t i = 0; i < 5; ++i)
      expect_eq(out[i], fold<int32_t>(Op::kSum, p_ - 1, me_ * 5 + i), "reduce_scatter_block", i);
  }

  // ---------------- scan ----------------
  template <class T>
  void check_scan(Op op, size_t n) {
    std::vector<T> in(n), out(n, T(77));
    for (size_t i = 0; i < n; ++i) in[i] = gen<T>(op, me_, i);
    c_.scan(in, out, op);
    const std::string what = label(std::string("scan-") + detail::op_name(op), "auto", n);
    for (size_t i = 0; i < n; ++i) expect_eq(out[i], fold<T>(op, me_, i), what, i);
  }

  void scan() {
    for (Op op : {Op::kSum, Op::kProd, Op::kMin, Op::kMax}) {
      check_scan<int32_t>(op, 1000);
      check_scan<int64_t>(op, 13);
      check_scan<float>(op, 13);
      check_scan<double>(op, 1000);
    }
    check_scan<int32_t>(Op::kSum, 0);
    check_scan<int32_t>(Op::kSum, 1);
    if (large_ != 0) check_scan<float>(Op::kSum, large_ / 4);
  }

  // ---------------- non-commutative user op ----------------
  void noncommutative() {
    const auto matmul = ReduceOp<Mat>::custom(
        [](std::span<const Mat> in, std::span<Mat> inout) {
          for (size_t i = 0; i < in.size(); ++i) inout[i] = mul(in[i], inout[i]);
        },
        /*commutative=*/false);
    for (size_t n : {size_t{1}, size_t{37}}) {
      std::vector<Mat> in(n);
      for (size_t i = 0; i < n; ++i) in[i] = mat_gen(me_, i);
      // (auto is recursive doubling for a non-commutative op; ring falls back to it.)
      for (Algorithm a :
           {Algorithm::kRecursiveDoubling, Algorithm::kRabenseifner, Algorithm::kRing}) {
        CollectiveTuning t;
        t.allreduce = a;
        t.reduce = a == Algorithm::kRing ? Algorithm::kReduceScatterGather : Algorithm::kAuto;
        t.reduce_scatter = a == Algorithm::kRing ? Algorithm::kRing : Algorithm::kAuto;
        TuningScope scope(c_, t);
        const std::string algo(algorithm_name(a));
        std::vector<Mat> out(n, Mat{0, 0, 0, 0});
        c_.allreduce(in, out, matmul);
        for (size_t i = 0; i < n; ++i)
          expect_eq(out[i], mat_fold(p_ - 1, i), label("allreduce-matmul", algo, n), i);
        for (int root : roots_) {
          std::vector<Mat> r(n, Mat{0, 0, 0, 0});
          c_.reduce(in, r, matmul, root);
          if (me_ == root)
            for (size_t i = 0; i < n; ++i)
              expect_eq(r[i], mat_fold(p_ - 1, i), label("reduce-matmul", algo, n, root), i);
        }
        std::vector<Mat> s(n, Mat{0, 0, 0, 0});
        c_.scan(in, s, matmul);
        for (size_t i = 0; i < n; ++i)
          expect_eq(s[i], mat_fold(me_, i), label("scan-matmul", algo, n), i);
        // reduce_scatter: block r = elements [r*n, (r+1)*n) of a p*n vector.
        std::vector<Mat> big(n * p_);
        for (size_t i = 0; i < big.size(); ++i) big[i] = mat_gen(me_, i);
        std::vector<Mat> part(n, Mat{0, 0, 0, 0});
        c_.reduce_scatter_block(big, part, matmul);
        for (size_t i = 0; i < n; ++i)
          expect_eq(part[i], mat_fold(p_ - 1, me_ * n + i), label("reduce_scatter-matmul", algo, n),
                    i);
      }
    }
  }

  // The roots of the forced-algorithm sweeps: first and last (p/2 runs in the auto cases).
  std::vector<int> forced_roots() const {
    return p_ > 1 ? std::vector<int>{0, p_ - 1} : std::vector<int>{0};
  }

  Communicator& c_;
  int p_;
  int me_;
  size_t large_;
  std::vector<int> roots_;
  const std::vector<size_t> sizes_ = {0, 1, 13, 1000};
};

}  // namespace

void run_collective_battery(Communicator& c, const BatteryOptions& options) {
  try {
    Battery(c, options).run();
  } catch (const std::runtime_error& e) {
    // A wrong result on this rank: break the communicator so the other ranks stop at once
    // instead of waiting for this one in the next collective.
    if (dynamic_cast<const Error*>(&e) == nullptr)
      c.channel().abort("check failed on rank " + std::to_string(c.rank()));
    throw;
  }
}

}  // namespace hpcless::comm::testing
