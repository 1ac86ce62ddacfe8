#include "tests/comm_stores/support/store_battery.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace hpcless::comm::stores_test {

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
  const int64_t r = rank, k = static_cast<int64_t>(i);
  return {1 + (r + k) % 5, r + 1 + k % 3, (k + r) % 3, 1 + r % 2};
}
Mat mat_fold(int last, size_t i) {
  Mat acc = mat_gen(0, i);
  for (int r = 1; r <= last; ++r) acc = mul(acc, mat_gen(r, i));
  return acc;
}

std::string show(const Mat& m) {
  return "[" + std::to_string(m.a) + " " + std::to_string(m.b) + "; " + std::to_string(m.c) + " " +
         std::to_string(m.d) + "]";
}
template <class T>
std::string show(const T& v) {
  return std::to_string(v);
}

template <class T>
void expect_eq(const T& got, const T& want, const std::string& what, size_t i) {
  if (!(got == want))
    throw std::runtime_error(what + ": element " + std::to_string(i) + " is " + show(got) +
                             ", expected " + show(want));
}

int32_t payload(int rank, size_t i) { return rank * 1'000'003 + static_cast<int32_t>(i); }

// Small integers: every sum, product, min and max is exact in every type.
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

std::string label(const std::string& op, size_t n, int root = -1) {
  std::string s = op + "[n=" + std::to_string(n);
  if (root >= 0) s += ", root=" + std::to_string(root);
  return s + "]";
}

class Battery {
 public:
  Battery(Communicator& c, const BatteryOptions& o) : c_(c), o_(o), p_(c.size()), me_(c.rank()) {
    roots_ = {0};
    if (p_ > 1) roots_.push_back(p_ - 1);
    if (p_ > 2) roots_.push_back(p_ / 2);
    // Light runs: the sweeps over sizes use the last rank as root; size 13 also runs at root 0.
    sweep_roots_ = o.thorough ? roots_ : std::vector<int>{p_ - 1};
  }

  void run() {
    c_.barrier();
    c_.barrier();
    if (o_.reductions_only) {
      reductions();
      check_reduce_scatter<int32_t>(Op::kSum, 5);
      scans();
      noncommutative();
      if (o_.large != 0) {
        check_allreduce<float>(Op::kSum, o_.large);
        check_allreduce<int32_t>(Op::kMax, o_.large + 1, /*in_place=*/true);
        check_reduce<int32_t>(Op::kSum, o_.large, roots_.back());
      }
      c_.barrier();
      return;
    }
    for (size_t n : o_.sizes)
      for (int root : sweep_roots_) check_bcast(n, root);
    if (!o_.thorough) check_bcast(13, 0);
    reductions();
    for (size_t n : o_.sizes)
      for (int root : sweep_roots_) {
        check_gather(n, root);
        check_scatter(n, root);
      }
    if (!o_.thorough) {
      check_gather(13, 0);
      check_scatter(13, 0);
    }
    for (int root : sweep_roots_) {
      check_gatherv(3, root);
      check_scatterv(3, root);
    }
    for (size_t n : o_.sizes) {
      check_allgather(n);
      check_alltoall(n);
    }
    check_reduce_scatter<int32_t>(Op::kSum, 5);
    check_reduce_scatter<double>(Op::kMax, 2);
    check_reduce_scatter_block();
    scans();
    noncommutative();
    if (o_.large != 0) large();
    c_.barrier();
  }

 private:
  void check_bcast(size_t n, int root) {
    std::vector<int32_t> buf(n, -1);
    if (me_ == root)
      for (size_t i = 0; i < n; ++i) buf[i] = payload(root, i);
    c_.bcast(buf, root);
    for (size_t i = 0; i < n; ++i) expect_eq(buf[i], payload(root, i), label("bcast", n, root), i);
  }

  template <class T>
  void check_allreduce(Op op, size_t n, bool in_place = false) {
    std::vector<T> in(n), out(n, T(77));
    for (size_t i = 0; i < n; ++i) in[i] = gen<T>(op, me_, i);
    if (in_place) {
      c_.allreduce(in, op);
      out = in;
    } else {
      c_.allreduce(in, out, op);
    }
    const std::string what =
        label(std::string("allreduce-") + detail::op_name(op) + (in_place ? "-inplace" : ""), n);
    for (size_t i = 0; i < n; ++i) expect_eq(out[i], fold<T>(op, p_ - 1, i), what, i);
  }

  template <class T>
  void check_reduce(Op op, size_t n, int root) {
    std::vector<T> in(n), out(n, T(77));
    for (size_t i = 0; i < n; ++i) in[i] = gen<T>(op, me_, i);
    c_.reduce(in, out, op, root);
    if (me_ != root) return;
    for (size_t i = 0; i < n; ++i)
      expect_eq(out[i], fold<T>(op, p_ - 1, i),
                label(std::string("reduce-") + detail::op_name(op), n, root), i);
  }

  template <class T>
  void every_op(size_t n) {
    for (Op op : {Op::kSum, Op::kProd, Op::kMin, Op::kMax}) {
      check_allreduce<T>(op, n);
      check_reduce<T>(op, n, roots_.back());
    }
  }

  void reductions() {
    if (o_.thorough) {
      every_op<int32_t>(13);
      every_op<int64_t>(13);
      every_op<float>(13);
      every_op<double>(13);
    } else {
      for (Op op : {Op::kSum, Op::kProd, Op::kMin, Op::kMax}) check_allreduce<int32_t>(op, 13);
      check_reduce<int32_t>(Op::kProd, 13, 0);
      check_reduce<float>(Op::kMin, 13, roots_.back());
      check_allreduce<double>(Op::kSum, 13);
      check_allreduce<int64_t>(Op::kMax, 13);
    }
    for (size_t n : o_.sizes) {
      if (o_.thorough || n != 13) check_allreduce<int32_t>(Op::kSum, n);
      if (o_.thorough || n != 13) check_reduce<int64_t>(Op::kSum, n, 0);
    }
    check_allreduce<double>(Op::kMax, 13, /*in_place=*/true);
  }

  void check_gather(size_t n, int root) {
    std::vector<int32_t> in(n), out(me_ == root ? n * p_ : 0, -1);
    for (size_t i = 0; i < n; ++i) in[i] = payload(me_, i);
    c_.gather(in, out, root);
    if (me_ != root) return;
    for (int r = 0; r < p_; ++r)
      for (size_t i = 0; i < n; ++i)
        expect_eq(out[r * n + i], payload(r, i), label("gather", n, root), r * n + i);
  }

  void check_scatter(size_t n, int root) {
    std::vector<int32_t> in(me_ == root ? n * p_ : 0), out(n, -1);
    if (me_ == root)
      for (int r = 0; r < p_; ++r)
        for (size_t i = 0; i < n; ++i) in[r * n + i] = payload(r, i);
    c_.scatter(in, out, root);
    for (size_t i = 0; i < n; ++i) expect_eq(out[i], payload(me_, i), label("scatter", n, root), i);
  }

  // Uneven blocks (every third empty) with gaps between them.
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
    for (int r = 0; r < p_; ++r)
      for (size_t i = 0; i < counts[r]; ++i)
        expect_eq(out[displs[r] + i], payload(r, i), label("gatherv", n, root), i);
    for (int r = 1; r < p_; ++r)
      for (size_t g = displs[r - 1] + counts[r - 1]; g < displs[r]; ++g)
        expect_eq(out[g], -7, label("gatherv-gap", n, root), g);
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
      expect_eq(out[i], payload(me_, i), label("scatterv", n, root), i);
  }

  void check_allgather(size_t n) {
    std::vector<int32_t> in(n), out(n * p_, -1);
    for (size_t i = 0; i < n; ++i) in[i] = payload(me_, i);
    c_.allgather(in, out);
    for (int r = 0; r < p_; ++r)
      for (size_t i = 0; i < n; ++i)
        expect_eq(out[r * n + i], payload(r, i), label("allgather", n), r * n + i);
  }

  static int64_t enc(int from, int to, size_t i) {
    return int64_t{from} * 1'000'000'000 + int64_t{to} * 1'000'000 + static_cast<int64_t>(i);
  }

  void check_alltoall(size_t n) {
    std::vector<int64_t> in(n * p_), out(n * p_, -1);
    for (int j = 0; j < p_; ++j)
      for (size_t i = 0; i < n; ++i) in[j * n + i] = enc(me_, j, i);
    c_.alltoall(in, out);
    for (int r = 0; r < p_; ++r)
      for (size_t i = 0; i < n; ++i)
        expect_eq(out[r * n + i], enc(r, me_, i), label("alltoall", n), r * n + i);
  }

  template <class T>
  void check_reduce_scatter(Op op, size_t n) {
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
    for (size_t i = 0; i < out.size(); ++i)
      expect_eq(out[i], fold<T>(op, p_ - 1, mine + i),
                label(std::string("reduce_scatter-") + detail::op_name(op), n), i);
  }

  void check_reduce_scatter_block() {
    std::vector<int32_t> in(5 * p_), out(5, -1);
    for (size_t i = 0; i < in.size(); ++i) in[i] = gen<int32_t>(Op::kSum, me_, i);
    c_.reduce_scatter_block(in, out, Op::kSum);
    for (size_t i = 0; i < 5; ++i)
      expect_eq(out[i], fold<int32_t>(Op::kSum, p_ - 1, me_ * 5 + i), "reduce_scatter_block", i);
  }

  template <class T>
  void check_scan(Op op, size_t n) {
    std::vector<T> in(n), out(n, T(77));
    for (size_t i = 0; i < n; ++i) in[i] = gen<T>(op, me_, i);
    c_.scan(in, out, op);
    for (size_t i = 0; i < n; ++i)
      expect_eq(out[i], fold<T>(op, me_, i), label(std::string("scan-") + detail::op_name(op), n),
                i);
  }

  void scans() {
    for (Op op : {Op::kSum, Op::kProd, Op::kMin, Op::kMax}) {
      if (o_.thorough || op == Op::kSum || op == Op::kProd) check_scan<int32_t>(op, 13);
      if (o_.thorough) {
        check_scan<int64_t>(op, 13);
        check_scan<float>(op, 13);
        check_scan<double>(op, 13);
      }
    }
    check_scan<int32_t>(Op::kSum, 0);
    check_scan<int32_t>(Op::kSum, 1);
  }

  void noncommutative() {
    const auto matmul = ReduceOp<Mat>::custom(
        [](std::span<const Mat> in, std::span<Mat> inout) {
          for (size_t i = 0; i < in.size(); ++i) inout[i] = mul(in[i], inout[i]);
        },
        /*commutative=*/false);
    const std::vector<size_t> ns =
        o_.thorough ? std::vector<size_t>{1, 37} : std::vector<size_t>{5};
    for (size_t n : ns) {
      std::vector<Mat> in(n);
      for (size_t i = 0; i < n; ++i) in[i] = mat_gen(me_, i);
      std::vector<Mat> out(n, Mat{0, 0, 0, 0});
      c_.allreduce(in, out, matmul);
      for (size_t i = 0; i < n; ++i)
        expect_eq(out[i], mat_fold(p_ - 1, i), label("allreduce-matmul", n), i);
      for (int root : o_.thorough ? roots_ : std::vector<int>{p_ / 2}) {
        std::vector<Mat> r(n, Mat{0, 0, 0, 0});
        c_.reduce(in, r, matmul, root);
        if (me_ == root)
          for (size_t i = 0; i < n; ++i)
            expect_eq(r[i], mat_fold(p_ - 1, i), label("reduce-matmul", n, root), i);
      }
      std::vector<Mat> s(n, Mat{0, 0, 0, 0});
      c_.scan(in, s, matmul);
      for (size_t i = 0; i < n; ++i) expect_eq(s[i], mat_fold(me_, i), label("scan-matmul", n), i);
      std::vector<Mat> big(n * p_);
      for (size_t i = 0; i < big.size(); ++i) big[i] = mat_gen(me_, i);
      std::vector<Mat> part(n, Mat{0, 0, 0, 0});
      c_.reduce_scatter_block(big, part, matmul);
      for (size_t i = 0; i < n; ++i)
        expect_eq(part[i], mat_fold(p_ - 1, me_ * n + i), label("reduce_scatter-matmul", n), i);
    }
  }

  void large() {
    const size_t n = o_.large;
    check_bcast(n, p_ - 1);
    check_allreduce<float>(Op::kSum, n);
    check_allreduce<int32_t>(Op::kMax, n + 1, /*in_place=*/true);
    check_reduce<int32_t>(Op::kSum, n, roots_.back());
    check_allgather(n / static_cast<size_t>(p_) + 1);
    check_alltoall(n / (4 * static_cast<size_t>(p_)) + 1);
    check_reduce_scatter<int32_t>(Op::kSum, n / static_cast<size_t>(p_));
  }

  Communicator& c_;
  const BatteryOptions& o_;
  int p_;
  int me_;
  std::vector<int> roots_;
  std::vector<int> sweep_roots_;
};

}  // namespace

void run_battery(Communicator& c, const BatteryOptions& options) {
  try {
    Battery(c, options).run();
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const Error*>(&e) == nullptr)
      c.channel().abort("check failed on rank " + std::to_string(c.rank()) + ": " + e.what());
    throw;
  }
}

}  // namespace hpcless::comm::stores_test
