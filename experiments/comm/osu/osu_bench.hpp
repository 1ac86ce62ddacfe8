// The OSU-style benchmark loops shared by `hpcless comm-bench` and its Open MPI and Gloo twins,
// so that the three systems are measured by the same code: option parsing, message sizes,
// iteration counts, the timing loops, the statistics across ranks and the printed tables.
// Header-only and standard C++ only (the baselines link nothing else from hpcless).
//
// Semantics follow the OSU Micro-Benchmarks (osu_latency, osu_bw, osu_barrier, osu_bcast, ...):
//   - message sizes from MIN to MAX, doubling (or an explicit list); reductions use float sums,
//     sizes below 4 bytes are skipped and a row reports bytes (count * 4), as OSU does;
//   - `skip` warm-up iterations, then `iterations` timed ones; defaults by size as in OSU
//     (collectives 1000 + 100 warm-up, 100 + 10 above 8 KiB; latency 10000 + 100, 1000 + 10;
//     bandwidth 100 + 10, 20 + 2, window 64); -i / -x set both the small and large values;
//   - collectives: each iteration times only the call, followed by a barrier (osu_barrier has
//     none); each rank averages its own timed iterations; Avg = mean over ranks of those
//     averages, Min / Max = smallest / largest of them;
//   - latency: ping-pong between ranks 0 and 1 (exactly two ranks); one-way latency =
//     elapsed / (2 * iterations), measured on both ranks and reported like a collective;
//   - bandwidth: rank 0 posts a window of non-blocking sends, waits for them and for a 4-byte
//     ack from rank 1; MB/s = bytes / 1e6 * iterations * window / elapsed (decimal MB).
// Time is CLOCK_MONOTONIC (like MPI_Wtime on Linux).
//
// A backend B provides (all blocking, throwing on failure):
//   int rank(); int size(); void barrier();
//   void collective(Op op, void* send, void* recv, size_t bytes);  // see buffer_layout()
//   void send(int peer, const void* p, size_t n); void recv(int peer, void* p, size_t n);
//   void send_window(int peer, const void* p, size_t n, int window);   // window sends, then wait
//   void recv_window(int peer, void* p, size_t n, int window);
//   std::vector<double> gather_double(double v);   // at rank 0: every rank's value, in rank order
//
// Thread safety: none (one thread per rank).
#pragma once

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hpcless::osu {

enum class Op {
  kLatency,
  kBandwidth,
  kBarrier,
  kBcast,
  kReduce,
  kAllreduce,
  kGather,
  kScatter,
  kAllgather,
  kAlltoall,
};

struct OpInfo {
  Op op;
  const char* name;   // command-line name
  const char* title;  // for the preamble, as OSU names its tests
};

inline constexpr OpInfo kOps[] = {
    {Op::kLatency, "latency", "Latency"},       {Op::kBandwidth, "bandwidth", "Bandwidth"},
    {Op::kBarrier, "barrier", "Barrier"},       {Op::kBcast, "bcast", "Broadcast"},
    {Op::kReduce, "reduce", "Reduce"},          {Op::kAllreduce, "allreduce", "Allreduce"},
    {Op::kGather, "gather", "Gather"},          {Op::kScatter, "scatter", "Scatter"},
    {Op::kAllgather, "allgather", "Allgather"}, {Op::kAlltoall, "alltoall", "All-to-All"},
};

inline const char* op_name(Op op) {
  for (const auto& i : kOps)
    if (i.op == op) return i.name;
  return "?";
}

inline const char* op_title(Op op) {
  for (const auto& i : kOps)
    if (i.op == op) return i.title;
  return "?";
}

inline std::optional<Op> parse_op(std::string_view name) {
  for (const auto& i : kOps)
    if (name == i.name) return i.op;
  return std::nullopt;
}

inline std::string op_list() {
  std::string s;
  for (const auto& i : kOps) {
    if (!s.empty()) s += ", ";
    s += i.name;
  }
  return s;
}

inline bool is_point_to_point(Op op) { return op == Op::kLatency || op == Op::kBandwidth; }
inline bool is_reduction(Op op) { return op == Op::kReduce || op == Op::kAllreduce; }

// OSU's threshold between its small and large iteration counts.
inline constexpr size_t kLargeMessageSize = 8192;
// Largest message size accepted (per rank; alltoall and gather buffers hold ranks times it).
inline constexpr size_t kMaxMessageSize = size_t{1} << 30;

struct Options {
  Op op = Op::kAllreduce;
  size_t min_size = 1;
  size_t max_size = size_t{1} << 20;
  std::vector<size_t> sizes;  // explicit list; overrides min/max when not empty
  int iterations = 0;         // 0: OSU defaults by operation and size
  int warmup = -1;            // -1: OSU defaults
  int window = 64;            // bandwidth only
  std::string csv;            // written by rank 0 when not empty
};

// ---- parsing -------------------------------------------------------------------------------

// "64", "4K", "1M", "1G" (binary units) -> bytes. Throws std::invalid_argument.
inline size_t parse_size(std::string_view text) {
  std::string_view digits = text;
  size_t unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        unit = size_t{1} << 10;
        break;
      case 'm':
      case 'M':
        unit = size_t{1} << 20;
        break;
      case 'g':
      case 'G':
        unit = size_t{1} << 30;
        break;
      default:
        break;
    }
    if (unit != 1) digits.remove_suffix(1);
  }
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos ||
      digits.size() > 12)
    throw std::invalid_argument("invalid size '" + std::string(text) +
                                "' (expected a byte count such as 64, 4K or 1M)");
  const size_t v = std::strtoull(std::string(digits).c_str(), nullptr, 10);
  if (v > kMaxMessageSize / unit)
    throw std::invalid_argument("size '" + std::string(text) + "' is larger than 1G");
  return v * unit;
}

inline int parse_count(std::string_view text, const char* what, int min) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos ||
      text.size() > 9)
    throw std::invalid_argument(std::string("invalid ") + what + " '" + std::string(text) + "'");
  const int v = std::atoi(std::string(text).c_str());
  if (v < min)
    throw std::invalid_argument(std::string(what) + " must be at least " + std::to_string(min));
  return v;
}

// OSU's -m: "MAX", "MIN:MAX", "MIN:" or ":MAX".
inline void parse_size_range(std::string_view text, Options& o) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    o.max_size = parse_size(text);
  } else {
    if (colon > 0) o.min_size = parse_size(text.substr(0, colon));
    if (colon + 1 < text.size()) o.max_size = parse_size(text.substr(colon + 1));
  }
  if (o.min_size > o.max_size)
    throw std::invalid_argument("-m " + std::string(text) + ": the minimum exceeds the maximum");
}

inline std::vector<size_t> parse_size_list(std::string_view text) {
  std::vector<size_t> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    out.push_back(parse_size(text.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return out;
}

// If argv[i] is one of the shared options, applies it and returns how many arguments it used
// (1 or 2); returns 0 for any other argument. Throws std::invalid_argument for bad values.
//   --op OP, -m/--message-size MIN:MAX, --sizes A,B,..., -i/--iterations N, -x/--warmup N,
//   -W/--window N, --csv FILE
inline int consume_option(int argc, char** argv, int i, Options& o) {
  const std::string_view k = argv[i];
  auto value = [&]() -> std::string_view {
    if (i + 1 >= argc) throw std::invalid_argument("missing value for " + std::string(k));
    return argv[i + 1];
  };
  if (k == "--op") {
    const auto op = parse_op(value());
    if (!op)
      throw std::invalid_argument("unknown operation '" + std::string(value()) +
                                  "' (one of: " + op_list() + ")");
    o.op = *op;
  } else if (k == "-m" || k == "--message-size") {
    parse_size_range(value(), o);
  } else if (k == "--sizes") {
    o.sizes = parse_size_list(value());
  } else if (k == "-i" || k == "--iterations") {
    o.iterations = parse_count(value(), "iterations", 1);
  } else if (k == "-x" || k == "--warmup") {
    o.warmup = parse_count(value(), "warm-up iterations", 0);
  } else if (k == "-W" || k == "--window") {
    o.window = parse_count(value(), "window", 1);
  } else if (k == "--csv") {
    o.csv = std::string(value());
  } else {
    return 0;
  }
  return 2;
}

// The arguments that reproduce `o` (for handing the options to rank processes).
inline std::vector<std::string> to_args(const Options& o) {
  std::vector<std::string> a = {"--op", op_name(o.op)};
  if (!o.sizes.empty()) {
    std::string list;
    for (size_t s : o.sizes) list += (list.empty() ? "" : ",") + std::to_string(s);
    a.insert(a.end(), {"--sizes", list});
  } else {
    a.insert(a.end(), {"-m", std::to_string(o.min_size) + ":" + std::to_string(o.max_size)});
  }
  if (o.iterations > 0) a.insert(a.end(), {"-i", std::to_string(o.iterations)});
  if (o.warmup >= 0) a.insert(a.end(), {"-x", std::to_string(o.warmup)});
  if (o.op == Op::kBandwidth) a.insert(a.end(), {"-W", std::to_string(o.window)});
  if (!o.csv.empty()) a.insert(a.end(), {"--csv", o.csv});
  return a;
}

// Checks that the options suit `ranks` processes; returns an error message or "".
inline std::string check(const Options& o, int ranks) {
  if (ranks < 1) return "at least one rank is needed";
  if (is_point_to_point(o.op) && ranks != 2)
    return std::string(op_name(o.op)) + " is a point-to-point test between two ranks: use 2 ranks";
  if (is_reduction(o.op)) {
    const bool any = o.sizes.empty() ? o.max_size >= 4
                                     : std::any_of(o.sizes.begin(), o.sizes.end(),
                                                   [](size_t s) { return s >= 4; });
    if (!any) return "reductions use floats: give sizes of at least 4 bytes";
  }
  return "";
}

// ---- sizes and iterations -----------------------------------------------------------------

// Message sizes of the run, in bytes (barrier: one row of size 0).
inline std::vector<size_t> message_sizes(const Options& o) {
  if (o.op == Op::kBarrier) return {0};
  std::vector<size_t> raw;
  if (!o.sizes.empty()) {
    raw = o.sizes;
  } else {
    for (size_t s = o.min_size; s <= o.max_size; s = s == 0 ? 1 : s * 2) raw.push_back(s);
  }
  std::vector<size_t> out;
  for (size_t s : raw) {
    if (is_reduction(o.op)) {
      if (s < sizeof(float)) continue;  // OSU skips sizes below one element
      s -= s % sizeof(float);
    }
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

struct Loop {
  int iterations;
  int warmup;
};

inline Loop loop_for(const Options& o, size_t bytes) {
  const bool large = bytes > kLargeMessageSize;
  Loop l{};
  switch (o.op) {
    case Op::kLatency:
      l = large ? Loop{1000, 10} : Loop{10000, 100};
      break;
    case Op::kBandwidth:
      l = large ? Loop{20, 2} : Loop{100, 10};
      break;
    default:
      l = large ? Loop{100, 10} : Loop{1000, 100};
      break;
  }
  if (o.iterations > 0) l.iterations = o.iterations;
  if (o.warmup >= 0) l.warmup = o.warmup;
  return l;
}

// Buffer sizes a rank needs for `op` at `bytes` per message (send, receive).
struct Layout {
  size_t send;
  size_t recv;
};

inline Layout buffer_layout(Op op, size_t bytes, int ranks, int rank) {
  const size_t all = bytes * static_cast<size_t>(ranks);
  switch (op) {
    case Op::kGather:
      return {bytes, rank == 0 ? all : 0};
    case Op::kScatter:
      return {rank == 0 ? all : 0, bytes};
    case Op::kAllgather:
      return {bytes, all};
    case Op::kAlltoall:
      return {all, all};
    case Op::kBarrier:
      return {0, 0};
    case Op::kBandwidth:
      return {std::max<size_t>(bytes, 4), std::max<size_t>(bytes, 4)};  // the ack uses 4 bytes
    default:
      return {bytes, bytes};  // bcast uses the send buffer only; reductions use both
  }
}

// ---- results ------------------------------------------------------------------------------

struct Row {
  size_t bytes = 0;
  double avg_us = 0, min_us = 0, max_us = 0;  // latency tests
  double mb_per_s = 0;                        // bandwidth
  int iterations = 0;
};

inline uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// OSU's column layout: size left-aligned in 10, values right-aligned in 20 with 2 decimals,
// iterations in 12.
inline void print_preamble(FILE* out, Op op, std::string_view system, int ranks) {
  std::fprintf(out, "# OSU-style %s%s Test (hpcless comm-bench)\n", op_title(op),
               op == Op::kBandwidth ? "" : " Latency");
  std::fprintf(out, "# System: %.*s, %d ranks\n", static_cast<int>(system.size()), system.data(),
               ranks);
}

inline void print_header(FILE* out, Op op) {
  if (op == Op::kBandwidth) {
    std::fprintf(out, "%-10s%20s\n", "# Size", "Bandwidth (MB/s)");
  } else {
    std::fprintf(out, "%-10s%20s%20s%20s%12s\n", "# Size", "Avg Latency(us)", "Min Latency(us)",
                 "Max Latency(us)", "Iterations");
  }
  std::fflush(out);
}

inline void print_row(FILE* out, Op op, const Row& r) {
  if (op == Op::kBandwidth) {
    std::fprintf(out, "%-10zu%20.2f\n", r.bytes, r.mb_per_s);
  } else {
    std::fprintf(out, "%-10zu%20.2f%20.2f%20.2f%12d\n", r.bytes, r.avg_us, r.min_us, r.max_us,
                 r.iterations);
  }
  std::fflush(out);
}

inline constexpr const char* kCsvHeader =
    "system,op,ranks,size_bytes,avg_us,min_us,max_us,iterations,bandwidth_mb_s";

// Writes the rows as CSV (kCsvHeader). Throws std::runtime_error when the file cannot be written.
inline void write_csv(const std::string& path, std::string_view system, Op op, int ranks,
                      const std::vector<Row>& rows) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr)
    throw std::runtime_error("cannot create '" + path + "': " + std::strerror(errno));
  std::fprintf(f, "%s\n", kCsvHeader);
  for (const Row& r : rows) {
    if (op == Op::kBandwidth) {
      std::fprintf(f, "%.*s,%s,%d,%zu,,,,%d,%.3f\n", static_cast<int>(system.size()), system.data(),
                   op_name(op), ranks, r.bytes, r.iterations, r.mb_per_s);
    } else {
      std::fprintf(f, "%.*s,%s,%d,%zu,%.3f,%.3f,%.3f,%d,\n", static_cast<int>(system.size()),
                   system.data(), op_name(op), ranks, r.bytes, r.avg_us, r.min_us, r.max_us,
                   r.iterations);
    }
  }
  const bool ok = std::fflush(f) == 0 && std::ferror(f) == 0;
  std::fclose(f);
  if (!ok) throw std::runtime_error("cannot write '" + path + "' (disk full?)");
}

// ---- the loops ----------------------------------------------------------------------------

namespace detail {

// Fills the send buffer with values whose results the loop checks afterwards (a backend that
// times a no-op must not pass): floats 1.0 for reductions, otherwise bytes 'A' + rank (so a
// bcast is seen to overwrite the other ranks' buffers with the root's 'A').
inline void fill(Op op, std::vector<char>& send, int rank) {
  if (is_reduction(op)) {
    const float one = 1.0f;
    for (size_t i = 0; i + sizeof(float) <= send.size(); i += sizeof(float))
      std::memcpy(send.data() + i, &one, sizeof(float));
  } else {
    std::fill(send.begin(), send.end(), static_cast<char>('A' + rank % 26));
  }
}

// Checks the result of the last call; returns an error message or "".
inline std::string validate(Op op, const std::vector<char>& send, const std::vector<char>& recv,
                            size_t bytes, int ranks, int rank) {
  auto bad = [&](const char* what) {
    return std::string(op_name(op)) + " of " + std::to_string(bytes) + " bytes: " + what;
  };
  switch (op) {
    case Op::kAllreduce:
    case Op::kReduce: {
      if (op == Op::kReduce && rank != 0) return "";
      float first = 0, last = 0;
      std::memcpy(&first, recv.data(), sizeof(float));
      std::memcpy(&last, recv.data() + bytes - sizeof(float), sizeof(float));
      if (first != static_cast<float>(ranks) || last != static_cast<float>(ranks))
        return bad("wrong sum");
      return "";
    }
    case Op::kBcast:
      if (bytes > 0 && (send.front() != 'A' || send[bytes - 1] != 'A'))
        return bad("data differs from the root's");
      return "";
    case Op::kGather:
    case Op::kAllgather:
    case Op::kAlltoall:
      if (op == Op::kGather && rank != 0) return "";
      for (int r = 0; r < ranks && bytes > 0; ++r)
        if (recv[static_cast<size_t>(r) * bytes] != static_cast<char>('A' + r % 26))
          return bad("a block is not from its rank");
      return "";
    case Op::kScatter:
      if (bytes > 0 && recv[0] != 'A') return bad("the block from rank 0 is wrong");
      return "";
    default:
      return "";
  }
}

template <class B>
Row finish_latency(B& b, size_t bytes, double my_avg_us, int iterations) {
  const std::vector<double> all = b.gather_double(my_avg_us);
  Row r;
  r.bytes = bytes;
  r.iterations = iterations;
  if (b.rank() == 0 && !all.empty()) {
    double sum = 0;
    r.min_us = all.front();
    r.max_us = all.front();
    for (double v : all) {
      sum += v;
      r.min_us = std::min(r.min_us, v);
      r.max_us = std::max(r.max_us, v);
    }
    r.avg_us = sum / static_cast<double>(all.size());
  }
  return r;
}

template <class B>
Row collective(B& b, const Options& o, size_t bytes, std::vector<char>& send,
               std::vector<char>& recv) {
  const Loop l = loop_for(o, bytes);
  b.barrier();
  uint64_t timer = 0;
  for (int i = 0; i < l.warmup + l.iterations; ++i) {
    const uint64_t t0 = mono_ns();
    b.collective(o.op, send.data(), recv.data(), bytes);
    const uint64_t t1 = mono_ns();
    if (i >= l.warmup) timer += t1 - t0;
    if (o.op != Op::kBarrier) b.barrier();
  }
  const std::string err = validate(o.op, send, recv, bytes, b.size(), b.rank());
  if (!err.empty()) throw std::runtime_error("validation failed: " + err);
  return finish_latency(b, bytes, static_cast<double>(timer) / 1e3 / l.iterations, l.iterations);
}

template <class B>
Row latency(B& b, const Options& o, size_t bytes, std::vector<char>& send,
            std::vector<char>& recv) {
  const Loop l = loop_for(o, bytes);
  const int peer = b.rank() == 0 ? 1 : 0;
  b.barrier();
  uint64_t start = mono_ns();
  for (int i = 0; i < l.warmup + l.iterations; ++i) {
    if (i == l.warmup) start = mono_ns();
    if (b.rank() == 0) {
      b.send(peer, send.data(), bytes);
      b.recv(peer, recv.data(), bytes);
    } else {
      b.recv(peer, recv.data(), bytes);
      b.send(peer, send.data(), bytes);
    }
  }
  const double us = static_cast<double>(mono_ns() - start) / 1e3 / (2.0 * l.iterations);
  return finish_latency(b, bytes, us, l.iterations);
}

template <class B>
Row bandwidth(B& b, const Options& o, size_t bytes, std::vector<char>& send,
              std::vector<char>& recv) {
  const Loop l = loop_for(o, bytes);
  b.barrier();
  uint64_t start = mono_ns();
  for (int i = 0; i < l.warmup + l.iterations; ++i) {
    if (i == l.warmup) start = mono_ns();
    if (b.rank() == 0) {
      b.send_window(1, send.data(), bytes, o.window);
      b.recv(1, recv.data(), 4);
    } else {
      b.recv_window(0, recv.data(), bytes, o.window);
      b.send(0, send.data(), 4);
    }
  }
  const double secs = static_cast<double>(mono_ns() - start) / 1e9;
  Row r;
  r.bytes = bytes;
  r.iterations = l.iterations;
  if (b.rank() == 0 && secs > 0)
    r.mb_per_s = static_cast<double>(bytes) / 1e6 * l.iterations * o.window / secs;
  return r;
}

}  // namespace detail

// Runs the benchmark on every rank; rank 0 prints the preamble, the table (row by row, as each
// size finishes) to `out` and writes o.csv. Returns rank 0's rows (other ranks: empty rows).
// Throws what the backend throws, std::runtime_error when a result is wrong.
template <class B>
std::vector<Row> run(B& b, const Options& o, std::string_view system, FILE* out) {
  const std::string err = check(o, b.size());
  if (!err.empty()) throw std::invalid_argument(err);
  const bool root = b.rank() == 0;
  if (root) {
    print_preamble(out, o.op, system, b.size());
    print_header(out, o.op);
  }
  std::vector<Row> rows;
  for (size_t bytes : message_sizes(o)) {
    const Layout lay = buffer_layout(o.op, bytes, b.size(), b.rank());
    // Touched before timing, so that page faults stay out of the loop.
    std::vector<char> send(std::max<size_t>(lay.send, 1)), recv(std::max<size_t>(lay.recv, 1), 0);
    detail::fill(o.op, send, b.rank());
    Row r;
    if (o.op == Op::kLatency)
      r = detail::latency(b, o, bytes, send, recv);
    else if (o.op == Op::kBandwidth)
      r = detail::bandwidth(b, o, bytes, send, recv);
    else
      r = detail::collective(b, o, bytes, send, recv);
    if (root) print_row(out, o.op, r);
    rows.push_back(r);
    b.barrier();
  }
  if (root && !o.csv.empty()) write_csv(o.csv, system, o.op, b.size(), rows);
  return rows;
}

}  // namespace hpcless::osu
