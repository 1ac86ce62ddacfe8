// 601.matmul: what the function and its client-side generator/validator share.
//
// C = A * B with n x n matrices of doubles. Every element is a pure function of (seed, matrix,
// index), so the validator can recompute any part of A and B without the function's data:
//   - the checksum sum_ij C_ij = sum_k colsum_A(k) * rowsum_B(k), in O(n^2);
//   - a few sampled elements C_ij = sum_k A_ik B_kj, in O(n) each.
// Header-only and free of global state: safe from any thread.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace hpcless::bench::matmul {

struct Params {
  int n = 0;
  uint64_t seed = 42;
};

inline constexpr int kMaxN = 8192;  // 3 matrices of 512 MiB: the most a function may ask for
inline constexpr int kSamples = 8;  // sampled elements of C in the output
inline constexpr uint64_t kMatrixA = 1;
inline constexpr uint64_t kMatrixB = 2;

// splitmix64: a counter-based generator, so element (m, i) needs no state.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Element `index` (row-major) of matrix `m`, uniform in [-1, 1).
inline double element(uint64_t seed, uint64_t m, uint64_t index) {
  const uint64_t r = mix(mix(seed ^ (m << 56)) + index);
  return static_cast<double>(r >> 11) * 0x1.0p-52 - 1.0;
}

// Deterministic positions (row, column) of the sampled elements of C.
inline std::vector<std::pair<int, int>> sample_positions(const Params& p) {
  std::vector<std::pair<int, int>> pos;
  const auto n = static_cast<uint64_t>(p.n);
  pos.emplace_back(0, 0);
  pos.emplace_back(p.n - 1, p.n - 1);
  for (int s = 2; s < kSamples; ++s) {
    const uint64_t r = mix(p.seed * 1000003u + static_cast<uint64_t>(s));
    pos.emplace_back(static_cast<int>((r >> 32) % n), static_cast<int>((r & 0xffffffffu) % n));
  }
  return pos;
}

// Reference value and an error scale (sum of |terms|) for C_ij.
struct Reference {
  double value = 0;
  double scale = 0;
};

inline Reference reference_element(const Params& p, int i, int j) {
  Reference r;
  const auto n = static_cast<uint64_t>(p.n);
  for (uint64_t k = 0; k < n; ++k) {
    const double t = element(p.seed, kMatrixA, static_cast<uint64_t>(i) * n + k) *
                     element(p.seed, kMatrixB, k * n + static_cast<uint64_t>(j));
    r.value += t;
    r.scale += std::fabs(t);
  }
  return r;
}

// sum_ij C_ij and its error scale, from column sums of A and row sums of B.
inline Reference reference_checksum(const Params& p) {
  const auto n = static_cast<uint64_t>(p.n);
  std::vector<double> col_a(n, 0.0), col_abs_a(n, 0.0);
  for (uint64_t i = 0; i < n; ++i)
    for (uint64_t k = 0; k < n; ++k) {
      const double a = element(p.seed, kMatrixA, i * n + k);
      col_a[k] += a;
      col_abs_a[k] += std::fabs(a);
    }
  Reference r;
  for (uint64_t k = 0; k < n; ++k) {
    double row_b = 0, row_abs_b = 0;
    for (uint64_t j = 0; j < n; ++j) {
      const double b = element(p.seed, kMatrixB, k * n + j);
      row_b += b;
      row_abs_b += std::fabs(b);
    }
    r.value += col_a[k] * row_b;
    r.scale += col_abs_a[k] * row_abs_b;
  }
  return r;
}

}  // namespace hpcless::bench::matmul
