// 603.stream: what the function and its client-side generator/validator share.
//
// The four STREAM kernels (McCalpin) on arrays of n doubles, in STREAM's order, `ntimes` times:
//     Copy  c = a        Scale  b = s * c        Add  c = a + b        Triad  a = b + s * c
// Initial values: a[i] = 1 + u(seed, i) with u uniform in [0, 1), b[i] = 2, c[i] = 0 (STREAM
// uses a constant a; the per-element term lets the validator catch misplaced elements).
// Each element evolves independently, so the validator replays any element exactly, and the last
// Triad leaves a[i] == b[i] + s * c[i] for every i.
// Header-only and free of global state: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hpcless::bench::stream {

struct Params {
  uint64_t n = 0;  // elements per array
  int ntimes = 10;
  double scalar = 3.0;
  uint64_t seed = 42;
};

inline constexpr uint64_t kMaxN = 1ull << 28;  // 2 GiB per array
inline constexpr int kMaxTimes = 1000;
inline constexpr int kSamples = 8;

// Bytes each kernel moves per element (reads + writes), as STREAM counts them.
inline constexpr double kCopyBytes = 16, kScaleBytes = 16, kAddBytes = 24, kTriadBytes = 24;

inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline double initial_a(const Params& p, uint64_t i) {
  return 1.0 + static_cast<double>(mix(mix(p.seed) + i) >> 11) * 0x1.0p-53;
}
inline constexpr double kInitialB = 2.0;
inline constexpr double kInitialC = 0.0;

struct Element {
  double a, b, c;
};

// Element i after all iterations: the same operations, in the same order, as the kernels.
inline Element replay(const Params& p, uint64_t i) {
  Element e{initial_a(p, i), kInitialB, kInitialC};
  for (int k = 0; k < p.ntimes; ++k) {
    e.c = e.a;
    e.b = p.scalar * e.c;
    e.c = e.a + e.b;
    e.a = e.b + p.scalar * e.c;
  }
  return e;
}

// Deterministic sample indices: the first, the last and a few in between.
inline std::vector<uint64_t> sample_indices(const Params& p) {
  std::vector<uint64_t> idx{0, p.n - 1};
  for (int s = 2; s < kSamples; ++s)
    idx.push_back(mix(p.seed * 104729u + static_cast<uint64_t>(s)) % p.n);
  return idx;
}

}  // namespace hpcless::bench::stream
