#include "experiments/offload/app_options.hpp"

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cxxopts.hpp>
#include <vector>

#include "comm/base/error.hpp"
#include "experiments/offload/size_option.hpp"
#include "functions/offload/tile_format.hpp"

#ifndef HPCLESS_OFFLOAD_PACKAGE
#define HPCLESS_OFFLOAD_PACKAGE ""
#endif

namespace hpcless::offload {

namespace {

cxxopts::Options make_options() {
  cxxopts::Options o("hpcless-offload-mpi",
                     "C = A * B on MPI ranks that offload a fraction of their row tiles to "
                     "leased hpcless workers (run it with mpirun; docs/offload.md)");
  o.add_options()("size", "matrix size n: C is n x n (also --n N)",
                  cxxopts::value<long long>()->default_value("1024"))(
      "tile", "rows per tile", cxxopts::value<long long>()->default_value("64"))(
      "fraction", "share of each rank's tiles offloaded, 0..1",
      cxxopts::value<double>()->default_value("0"))(
      "seed", "seed of A and B", cxxopts::value<long long>()->default_value("42"))(
      "lease", "use this lease (default: rank 0 acquires one when offloading)",
      cxxopts::value<std::string>())(
      "manager", "manager URL http://HOST:PORT (default: $HPCLESS_MANAGER)",
      cxxopts::value<std::string>())(
      "token-file", "file holding the API token (default: $HPCLESS_API_TOKEN)",
      cxxopts::value<std::string>())(
      "lease-cores", "cores of a lease acquired here",
      cxxopts::value<long long>()->default_value("1"))(
      "lease-seconds", "duration of a lease acquired here",
      cxxopts::value<double>()->default_value("300"))(
      "package-file", "package offering dgemm.tile, shipped to workers that lack it",
      cxxopts::value<std::string>()->default_value(HPCLESS_OFFLOAD_PACKAGE))(
      "depth", "tiles in flight per worker connection",
      cxxopts::value<long long>()->default_value("2"))(
      "timeout-ms", "deadline of connecting and of all offloaded tiles",
      cxxopts::value<long long>()->default_value("120000"))(
      "verify", "rank 0 checks C against a local reference DGEMM")("h,help", "show this help");
  return o;
}

long long in_range(const cxxopts::ParseResult& r, const char* name, long long lo, long long hi) {
  const long long v = r[name].as<long long>();
  if (v < lo || v > hi) {
    // The matrix size is registered as --size but documented as --n (size_option.hpp).
    const std::string label = std::string(name) == "size" ? "n" : name;
    throw ConfigError("--" + label + " must be in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "], got " + std::to_string(v));
  }
  return v;
}

std::string format_number(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%g", v);
  return b;
}

}  // namespace

AppOptions parse_app_options(int argc, char** argv) {
  auto opts = make_options();
  SizeOptionArgs args(argc, argv);
  cxxopts::ParseResult r;
  try {
    r = opts.parse(args.argc(), args.argv());
  } catch (const cxxopts::exceptions::exception& e) {
    throw ConfigError(std::string(e.what()) + " (see --help)");
  }
  AppOptions o;
  if (r.count("help")) {
    o.help = true;
    return o;
  }
  if (!r.unmatched().empty()) throw ConfigError("unexpected argument '" + r.unmatched()[0] + "'");
  try {
    o.n = static_cast<uint32_t>(in_range(r, "size", 1, kMaxTileDim));
    o.tile = static_cast<uint32_t>(in_range(r, "tile", 1, kMaxTileDim));
    o.fraction = r["fraction"].as<double>();
    if (!(o.fraction >= 0 && o.fraction <= 1))
      throw ConfigError("--fraction must be in [0, 1], got " + format_number(o.fraction));
    o.seed = static_cast<uint64_t>(in_range(r, "seed", 0, INT64_MAX));
    if (r.count("lease")) {
      o.lease = r["lease"].as<std::string>();
      if (o.lease.empty()) throw ConfigError("--lease is empty");
    }
    if (r.count("manager")) o.manager = r["manager"].as<std::string>();
    if (r.count("token-file")) o.token_file = r["token-file"].as<std::string>();
    o.lease_cores = static_cast<int>(in_range(r, "lease-cores", 1, 4096));
    o.lease_seconds = r["lease-seconds"].as<double>();
    if (!(o.lease_seconds >= 1 && o.lease_seconds <= 86400))
      throw ConfigError("--lease-seconds must be in [1, 86400]");
    o.package_file = r["package-file"].as<std::string>();
    o.depth = static_cast<int>(in_range(r, "depth", 1, 64));
    o.timeout_ms = static_cast<int>(in_range(r, "timeout-ms", 1, 86'400'000));
    o.verify = r.count("verify") > 0;
  } catch (const cxxopts::exceptions::exception& e) {
    throw ConfigError(std::string(e.what()) + " (see --help)");
  }
  if (o.tile > o.n)
    throw ConfigError("--tile " + std::to_string(o.tile) + " is larger than --n " +
                      std::to_string(o.n));
  return o;
}

std::string app_usage() { return make_options().help(); }

}  // namespace hpcless::offload
