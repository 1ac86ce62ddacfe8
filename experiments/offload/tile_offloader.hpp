// The offloading half of a rank of hpcless-offload-mpi: sends row tiles of A (with all of B) to
// the workers of a lease as `dgemm.tile` invocations, pipelined (up to `depth` in flight per
// worker connection, round-robin over the connections), and copies each C block into place.
//
// It runs on its own thread while the rank's main thread computes the other tiles; it owns the
// Lease for that time (a Lease is used by one thread at a time) and makes no MPI calls. Waits
// block in poll() (the connections are warm), so this thread leaves the core to the local DGEMM.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "client/lib/lease_session.hpp"
#include "comm/base/clock.hpp"

namespace hpcless::offload {

struct OffloadJob {
  uint32_t n = 0;      // columns of A and B = k = n
  uint32_t tile = 0;   // nominal rows per tile
  uint32_t first_row = 0;   // the first offloaded tile starts at this row of the rank's block
  uint32_t tiles = 0;       // consecutive tiles to offload
  uint32_t rows = 0;        // rows they cover (the last tile may be shorter)
  std::span<const double> a;  // the rank's rows of A, from its first row
  std::span<const double> b;  // all of B
  std::span<double> c;        // the rank's rows of C, from its first row
  int depth = 2;
};

struct OffloadStats {
  uint32_t tiles = 0;            // completed
  double seconds = 0;            // first send to last result
  double worker_compute_s = 0;   // sum over tiles of the worker's function time (start -> end)
  uint64_t bytes_sent = 0;       // tile inputs
  uint64_t bytes_received = 0;   // C blocks
};

// Throws Error (one line naming the tile and the worker's answer) when a tile fails or the
// deadline passes; TimeoutError/IoError from the connection pass through with the node named.
OffloadStats offload_tiles(client::Lease& lease, const OffloadJob& job, Deadline deadline);

}  // namespace hpcless::offload
