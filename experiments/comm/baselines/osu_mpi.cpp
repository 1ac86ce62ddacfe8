// hpcless-comm-bench-mpi: the OSU loop of `hpcless comm-bench` (osu/osu_bench.hpp) over Open MPI,
// started by `hpcless comm-bench --system mpi` (or by hand) through mpirun:
//
//   mpirun --allow-run-as-root --oversubscribe --bind-to none --mca pml ob1
//          --mca btl tcp,self --mca btl_tcp_if_include lo -np 4
//          hpcless-comm-bench-mpi --op allreduce -m 8:4M
//
// Options: the shared ones (--op, -m, --sizes, -i, -x, -W, --csv) and --label NAME (the system
// name in the preamble and the CSV; default "mpi"). MPI errors abort the job (MPI's default).
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "experiments/comm/osu/osu_bench.hpp"


namespace {

using hpcless::osu::Op;

class MpiBackend {
 public:
  MpiBackend() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const { return rank_; }
  int size() const { return size_; }
  void barrier() { MPI_Barrier(MPI_COMM_WORLD); }

  void collective(Op op, void* send, void* recv, size_t bytes) {
    const int n = count(bytes);
    const int floats = count(bytes / sizeof(float));
    switch (op) {
      case Op::kBarrier:
        MPI_Barrier(MPI_COMM_WORLD);
        break;
      case Op::kBcast:
        MPI_Bcast(send, n, MPI_CHAR, 0, MPI_COMM_WORLD);
        break;
      case Op::kReduce:
        MPI_Reduce(send, recv, floats, MPI_FLOAT, MPI_SUM, 0, MPI_COMM_WORLD);
        break;
      case Op::kAllreduce:
        MPI_Allreduce(send, recv, floats, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        break;
      case Op::kGather:
        MPI_Gather(send, n, MPI_CHAR, recv, n, MPI_CHAR, 0, MPI_COMM_WORLD);
        break;
      case Op::kScatter:
        MPI_Scatter(send, n, MPI_CHAR, recv, n, MPI_CHAR, 0, MPI_COMM_WORLD);
        break;
      case Op::kAllgather:
        MPI_Allgather(send, n, MPI_CHAR, recv, n, MPI_CHAR, MPI_COMM_WORLD);
        break;
      case Op::kAlltoall:
        MPI_Alltoall(send, n, MPI_CHAR, recv, n, MPI_CHAR, MPI_COMM_WORLD);
        break;
      default:
        throw std::invalid_argument("not a collective");
    }
  }

  void send(int peer, const void* p, size_t bytes) {
    MPI_Send(p, count(bytes), MPI_CHAR, peer, kTag, MPI_COMM_WORLD);
  }
  void recv(int peer, void* p, size_t bytes) {
    MPI_Recv(p, count(bytes), MPI_CHAR, peer, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  void send_window(int peer, const void* p, size_t bytes, int window) {
    reqs_.resize(static_cast<size_t>(window));
    for (int i = 0; i < window; ++i)
      MPI_Isend(p, count(bytes), MPI_CHAR, peer, kTag, MPI_COMM_WORLD, &reqs_[i]);
    MPI_Waitall(window, reqs_.data(), MPI_STATUSES_IGNORE);
  }
  void recv_window(int peer, void* p, size_t bytes, int window) {
    reqs_.resize(static_cast<size_t>(window));
    for (int i = 0; i < window; ++i)
      MPI_Irecv(p, count(bytes), MPI_CHAR, peer, kTag, MPI_COMM_WORLD, &reqs_[i]);
    MPI_Waitall(window, reqs_.data(), MPI_STATUSES_IGNORE);
  }

  std::vector<double> gather_double(double v) {
    std::vector<double> all(rank_ == 0 ? static_cast<size_t>(size_) : 0);
    MPI_Gather(&v, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    return all;
  }

 private:
  static int count(size_t n) {
    if (n > static_cast<size_t>(INT32_MAX)) throw std::invalid_argument("message too large");
    return static_cast<int>(n);
  }
  static constexpr int kTag = 1;
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> reqs_;
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  hpcless::osu::Options o;
  std::string label = "mpi";
  try {
    for (int i = 1; i < argc;) {
      const int used = hpcless::osu::consume_option(argc, argv, i, o);
      if (used > 0) {
        i += used;
      } else if (std::string(argv[i]) == "--label" && i + 1 < argc) {
        label = argv[i + 1];
        i += 2;
      } else {
        throw std::invalid_argument("unknown argument '" + std::string(argv[i]) + "'");
      }
    }
    MpiBackend b;
    hpcless::osu::run(b, o, label, stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless-comm-bench-mpi: rank %d: %s\n", rank, e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
#if defined(__SANITIZE_ADDRESS__)
  // Open MPI (and its components' threads) keep allocations until exit by design. In the
  // sanitizer build LeakSanitizer's exit-time check would report them and fail every run, and
  // an ASAN_OPTIONS=detect_leaks=1 from the environment overrides any default we could set.
  // They are not this program's leaks: leave without the exit-time check.
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(0);
#endif
  return 0;
}
