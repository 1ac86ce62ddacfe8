// hpcless-comm-probe-mpi: the Open MPI twin of hpcless-comm-probe (started by it through
// mpirun). Arguments: <ops comma-separated> <sizes comma-separated> <scale>.
#include <mpi.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "comm/communicator/probe/probe_common.hpp"

using namespace hpcless::probe;

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 4) {
    if (rank == 0) std::fprintf(stderr, "usage: hpcless-comm-probe-mpi OPS SIZES SCALE\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  std::vector<size_t> sizes;
  for (const auto& s : split(argv[2], ',')) sizes.push_back(std::strtoull(s.c_str(), nullptr, 10));
  const auto plan = make_plan(split(argv[1], ','), sizes, std::atof(argv[3]));
  for (const auto& p : plan) {
    const int count = static_cast<int>(std::max<size_t>(1, p.bytes / sizeof(float)));
    std::vector<float> in(count, 1.0f), out(count);
    std::vector<char> buf(std::max<size_t>(1, p.bytes));
    std::vector<double> t(p.iters);
    for (int i = 0; i < p.warmup + p.iters; ++i) {
      MPI_Barrier(MPI_COMM_WORLD);
      const uint64_t t0 = mono_ns();
      if (p.op == "allreduce") {
        MPI_Allreduce(in.data(), out.data(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      } else {
        MPI_Bcast(buf.data(), static_cast<int>(p.bytes), MPI_BYTE, 0, MPI_COMM_WORLD);
      }
      const uint64_t t1 = mono_ns();
      if (i >= p.warmup) t[i - p.warmup] = static_cast<double>(t1 - t0) / 1e3;
    }
    std::vector<double> all(rank == 0 ? static_cast<size_t>(size) * p.iters : 0);
    MPI_Gather(t.data(), p.iters, MPI_DOUBLE, all.data(), p.iters, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) print_result(p, per_iteration_max(all, size, p.iters));
  }
  MPI_Finalize();
  return 0;
}
