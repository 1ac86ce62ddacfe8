// hpcless-offload-mpi: C = A * B (n x n) on MPI ranks that offload a fraction of their row tiles
// to leased hpcless workers (`dgemm.tile`) while computing the rest with a local DGEMM, then
// gather C on rank 0. Started by `hpcless experiment offload` or by hand (docs/offload.md):
//
//   mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 hpcless-offload-mpi
//       --n 1024 --tile 64 --fraction 0.5 --lease L000042 --verify
//
// Rank 0 prints one JSON line (schema hpcless.offload.v1) with the time to solution, the local
// and offload times, the tiles offloaded and, with --verify, the error against a reference DGEMM.
// Exit codes: 0 done, 1 a failure (lease, worker, deadline), 2 bad options or configuration,
// 4 verification failed. Every rank reaches the same exit code: failures are agreed on with an
// MPI_Allreduce at each stage instead of aborting, so no rank waits for a peer that gave up.
#include <cblas.h>
#include <mpi.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/lib/lease_session.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "experiments/offload/app_options.hpp"
#include "experiments/offload/problem.hpp"
#include "experiments/offload/tile_offloader.hpp"
#include "experiments/offload/tile_plan.hpp"
#include "functions/offload/tile_format.hpp"

namespace {

namespace off = hpcless::offload;
namespace client = hpcless::client;
using hpcless::ConfigError;
using hpcless::Deadline;

constexpr const char* kProgram = "hpcless-offload-mpi";
constexpr int kExitVerifyFailed = 4;

struct Failure {
  int code = 0;  // 0: none; else the exit code it calls for
  std::string message;
};

template <class F>
Failure guarded(F&& f) {
  try {
    f();
    return {};
  } catch (const ConfigError& e) {
    return {2, e.what()};
  } catch (const std::exception& e) {
    return {1, e.what()};
  }
}

// Each failing rank prints its reason; every rank returns the worst exit code of all ranks.
int agree(const Failure& f, int rank) {
  if (f.code != 0) {
    std::fprintf(stderr, "%s: rank %d: %s\n", kProgram, rank, f.message.c_str());
    std::fflush(stderr);
  }
  int worst = 0;
  MPI_Allreduce(&f.code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return worst;
}

std::string broadcast_string(std::string s, int rank) {
  int len = rank == 0 ? static_cast<int>(s.size()) : 0;
  MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
  s.resize(static_cast<size_t>(len));
  MPI_Bcast(s.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);
  return s;
}

std::vector<std::byte> read_package(const std::string& path) {
  if (path.empty())
    throw ConfigError("the workers do not offer dgemm.tile and no --package-file was given");
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw ConfigError("cannot read package file '" + path + "'");
  if (bytes.empty()) throw ConfigError("package file '" + path + "' is missing or empty");
  std::vector<std::byte> out(bytes.size());
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

// C (m x n) = A (m x k) * B (k x n), row-major, one thread.
void dgemm(uint32_t m, uint32_t n, uint32_t k, const double* a, const double* b, double* c) {
  if (m == 0) return;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0, a, static_cast<int>(k), b,
              static_cast<int>(n), 0.0, c, static_cast<int>(n));
}

client::SessionOptions session_options(const off::AppOptions& o, bool connect_now,
                                       bool release_on_destroy) {
  client::SessionOptions s;
  // Warm on both sides: on a machine shared by ranks and workers, a spinning worker or client
  // would take a core from the DGEMMs; a tile takes milliseconds, the wake-up microseconds.
  s.connect.hot_timeout_ms = 0;
  s.connect.busy_poll = false;
  s.connect.client_name = kProgram;
  s.use_lease_hot_timeout = false;
  s.connections_per_allocation = 0;  // one per leased core: every worker thread gets tiles
  s.connect_deadline = std::chrono::milliseconds(o.timeout_ms);
  s.connect_now = connect_now;
  s.release_on_destroy = release_on_destroy;
  return s;
}

bool offers(const client::Lease& lease, const char* function) {
  for (size_t i = 0; i < lease.workers(); ++i) {
    const auto& f = lease.worker(i).info().functions;
    if (std::find(f.begin(), f.end(), function) == f.end()) return false;
  }
  return true;
}

// The lease side of a rank. The LeaseClient is declared first: the Lease points to it and is
// destroyed (released, if this rank acquired it) before it.
struct LeaseSide {
  std::optional<client::LeaseClient> manager;
  std::optional<client::Lease> lease;
};

int run(int rank, int ranks, int argc, char** argv) {
  const double start = MPI_Wtime();
  off::AppOptions o;
  try {
    o = off::parse_app_options(argc, argv);
  } catch (const ConfigError& e) {
    // Every rank parsed the same arguments and failed the same way: one message is enough.
    if (rank == 0) std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
    return 2;
  }
  if (o.help) {
    if (rank == 0) std::printf("%s\n", off::app_usage().c_str());
    return 0;
  }
  openblas_set_num_threads(1);  // one core per rank, like the workers' tiles

  const auto uranks = static_cast<uint32_t>(ranks);
  const off::RankPlan plan = off::plan_rank(o.n, o.tile, uranks, static_cast<uint32_t>(rank), o.fraction);
  uint32_t tiles_offloaded_planned = 0;
  for (uint32_t r = 0; r < uranks; ++r)
    tiles_offloaded_planned += off::plan_rank(o.n, o.tile, uranks, r, o.fraction).offloaded;
  const bool offloading = tiles_offloaded_planned > 0;
  const Deadline deadline = Deadline::after(std::chrono::milliseconds(o.timeout_ms));

  // Set-up, stage 1: the manager, and the lease when rank 0 acquires it.
  LeaseSide side;
  std::string lease_id = o.lease;
  const bool acquire_here = offloading && o.lease.empty();
  Failure f = guarded([&] {
    if (!offloading) return;
    side.manager.emplace(client::ManagerOptions::resolve(o.manager, o.token_file));
    if (rank == 0 && acquire_here) {
      client::LeaseRequest req;
      req.cores = o.lease_cores;
      req.seconds = o.lease_seconds;
      req.hot_timeout_ms = 0;
      side.lease.emplace(client::Lease::acquire(
          *side.manager, req, session_options(o, plan.offloaded > 0, /*release=*/true)));
      lease_id = side.lease->id();
    }
  });
  if (const int code = agree(f, rank)) return code;
  if (acquire_here) lease_id = broadcast_string(lease_id, rank);

  // Stage 2: every rank with tiles to offload connects to the workers (one connection per leased
  // core) and makes sure they offer dgemm.tile, shipping the package otherwise.
  f = guarded([&] {
    if (plan.offloaded == 0) return;
    if (!side.lease)
      side.lease.emplace(client::Lease::attach(*side.manager, lease_id,
                                               session_options(o, true, /*release=*/false)));
    if (!offers(*side.lease, off::kTileFunction))
      side.lease->load_package(read_package(o.package_file), deadline);
    if (!offers(*side.lease, off::kTileFunction))
      throw ConfigError("package '" + o.package_file + "' does not offer " + off::kTileFunction);
    const uint64_t need = off::tile_input_bytes({std::min(o.tile, o.n), o.n, o.n});
    for (size_t i = 0; i < side.lease->workers(); ++i) {
      const uint64_t limit = side.lease->worker(i).info().max_payload;
      if (need > limit)
        throw ConfigError("a tile input is " + std::to_string(need) +
                          " bytes (header + " + std::to_string(o.tile) + "x" +
                          std::to_string(o.n) + " of A + all of B), over the worker's payload "
                          "limit of " + std::to_string(limit) + " bytes; use a smaller --n");
    }
  });
  if (const int code = agree(f, rank)) return code;

  // The problem: this rank's rows of A, all of B.
  const std::vector<double> a = off::matrix_a_rows(o.seed, o.n, plan.row_begin, plan.row_end);
  const std::vector<double> b = off::matrix_b(o.seed, o.n);
  std::vector<double> c(size_t{plan.rows()} * o.n);

  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();

  off::OffloadStats ost;
  Failure offload_failure;
  std::jthread offloader;  // joined below, or on the way out
  if (plan.offloaded > 0) {
    off::OffloadJob job;
    job.n = o.n;
    job.tile = o.tile;
    job.first_row = 0;
    job.tiles = plan.offloaded;
    job.rows = plan.local_row_begin - plan.row_begin;
    job.a = a;
    job.b = b;
    job.c = c;
    job.depth = o.depth;
    offloader = std::jthread([&, job] {
      offload_failure = guarded([&] { ost = off::offload_tiles(*side.lease, job, deadline); });
    });
  }
  const double l0 = MPI_Wtime();
  const size_t local_offset = size_t{plan.local_row_begin - plan.row_begin} * o.n;
  dgemm(plan.local_rows(), o.n, o.n, a.data() + local_offset, b.data(), c.data() + local_offset);
  const double local_s = MPI_Wtime() - l0;
  if (offloader.joinable()) offloader.join();
  if (const int code = agree(offload_failure, rank)) return code;

  // Gather C on rank 0.
  std::vector<int> counts(uranks), displs(uranks);
  for (uint32_t r = 0; r < uranks; ++r) {
    const off::RankPlan p = off::plan_rank(o.n, o.tile, uranks, r, o.fraction);
    counts[r] = static_cast<int>(size_t{p.rows()} * o.n);
    displs[r] = static_cast<int>(size_t{p.row_begin} * o.n);
  }
  std::vector<double> full(rank == 0 ? size_t{o.n} * o.n : 0);
  MPI_Gatherv(c.data(), static_cast<int>(c.size()), MPI_DOUBLE, full.data(), counts.data(),
              displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  const double t1 = MPI_Wtime();

  double maxes[2] = {local_s, ost.seconds}, max_out[2] = {0, 0};
  double sums[4] = {static_cast<double>(ost.tiles), ost.worker_compute_s,
                    static_cast<double>(ost.bytes_sent), static_cast<double>(ost.bytes_received)};
  double sum_out[4] = {0, 0, 0, 0};
  MPI_Reduce(maxes, max_out, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  MPI_Reduce(sums, sum_out, 4, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank != 0) return 0;

  double checksum = 0;
  for (double v : full) checksum += v;
  nlohmann::ordered_json j;
  j["schema"] = "hpcless.offload.v1";
  j["n"] = o.n;
  j["tile"] = o.tile;
  j["tiles"] = off::tile_count(o.n, o.tile);
  j["ranks"] = ranks;
  j["fraction"] = o.fraction;
  j["seed"] = o.seed;
  j["tiles_offloaded"] = static_cast<uint64_t>(sum_out[0]);
  j["time_to_solution_s"] = t1 - t0;
  j["setup_s"] = t0 - start;
  j["local_compute_s"] = max_out[0];  // slowest rank
  j["offload_s"] = max_out[1];        // slowest rank: first send to last result
  j["worker_compute_s"] = sum_out[1];
  j["offload_bytes_sent"] = static_cast<uint64_t>(sum_out[2]);
  j["offload_bytes_received"] = static_cast<uint64_t>(sum_out[3]);
  j["lease"] = offloading ? nlohmann::ordered_json(lease_id) : nlohmann::ordered_json(nullptr);
  j["lease_acquired_here"] = acquire_here;
  j["workers"] = side.lease ? side.lease->workers() : 0;
  j["depth"] = o.depth;
  j["checksum"] = checksum;
  int code = 0;
  if (o.verify) {
    const std::vector<double> a_all = off::matrix_a_rows(o.seed, o.n, 0, o.n);
    std::vector<double> ref(size_t{o.n} * o.n);
    dgemm(o.n, o.n, o.n, a_all.data(), b.data(), ref.data());
    double max_err = 0, ref_sum = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      max_err = std::max(max_err, std::fabs(full[i] - ref[i]));
      ref_sum += ref[i];
    }
    // Each element is a dot product of n terms of magnitude < 1: a correct result differs
    // from the reference by at most about n * (n * eps) (tiles may sum in another order).
    const double tolerance = 2.0 * o.n * o.n * DBL_EPSILON;
    const bool ok = max_err <= tolerance;
    j["verify"] = {{"max_abs_error", max_err},
                   {"tolerance", tolerance},
                   {"reference_checksum", ref_sum},
                   {"ok", ok}};
    if (!ok) code = kExitVerifyFailed;
  }
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  if (code != 0)
    std::fprintf(stderr, "%s: verification failed: max abs error %g over tolerance %g\n", kProgram,
                 j["verify"]["max_abs_error"].get<double>(),
                 j["verify"]["tolerance"].get<double>());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  // Only the main thread calls MPI; the offloading thread talks to workers over TCP.
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  int code = 0;
  try {
    code = run(rank, ranks, argc, argv);
  } catch (const std::exception& e) {
    // Not expected (failures are agreed on above); abort the job rather than leave peers
    // waiting in a collective.
    std::fprintf(stderr, "%s: rank %d: %s\n", kProgram, rank, e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
#if defined(__SANITIZE_ADDRESS__)
  // Open MPI keeps allocations until exit by design; LeakSanitizer's exit-time check would
  // report them (see experiments/comm/baselines/osu_mpi.cpp). Leave without it.
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
#endif
  return code;
}
