// Options of hpcless-offload-mpi, the MPI offloading example (docs/offload.md). Every rank parses
// the same command line, so every rank reaches the same verdict on a bad option.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hpcless::offload {

struct AppOptions {
  uint32_t n = 1024;     // C = A * B is n x n
  uint32_t tile = 64;    // rows per tile
  double fraction = 0;   // share of each rank's tiles offloaded to leased workers, [0, 1]
  uint64_t seed = 42;    // of the deterministic A and B
  std::string lease;     // attach to this lease; empty: rank 0 acquires one (when offloading)
  std::optional<std::string> manager;     // --manager, else $HPCLESS_MANAGER
  std::optional<std::string> token_file;  // --token-file, else $HPCLESS_API_TOKEN
  int lease_cores = 1;          // cores of a lease acquired here
  double lease_seconds = 300;   // its duration
  std::string package_file;     // shipped to workers that do not offer dgemm.tile
  int depth = 2;                // tiles in flight per worker connection
  int timeout_ms = 120000;      // deadline of connecting, and of all offloaded tiles
  bool verify = false;          // rank 0 compares C with a local reference DGEMM
  bool help = false;
};

// Parses argv (argv[0] is the program). Throws ConfigError naming the bad option or value.
AppOptions parse_app_options(int argc, char** argv);

std::string app_usage();

}  // namespace hpcless::offload
