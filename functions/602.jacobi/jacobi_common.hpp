// 602.jacobi: what the function and its client-side generator/validator share.
//
// Jacobi iterations of the 2-D 5-point Laplace stencil on an (n+2) x (n+2) grid whose outer ring
// is a fixed (Dirichlet) boundary:
//     v(i,j) = 0.25 * ((u(i-1,j) + u(i+1,j)) + (u(i,j-1) + u(i,j+1)))   for 1 <= i,j <= n
// The initial grid (boundary included) is a pure function of (seed, index), uniform in [0, 1).
// After k iterations a point depends only on the points within distance k, so the validator
// recomputes sampled points exactly on a (2k+1)^2 window instead of the whole grid.
// Header-only and free of global state: safe from any thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace hpcless::bench::jacobi {

struct Params {
  int n = 0;           // interior points per dimension
  int iterations = 0;  // sweeps
  uint64_t seed = 42;
};

inline constexpr int kMaxN = 16384;  // 2 grids of 2 GiB
inline constexpr int kMaxIterations = 1000000;
inline constexpr int kSamples = 8;
inline constexpr double kFlopsPerUpdate = 4.0;  // 3 additions and 1 multiplication

inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Initial value of grid point (i, j), 0 <= i, j <= n + 1.
inline double initial(const Params& p, int64_t i, int64_t j) {
  const auto w = static_cast<uint64_t>(p.n) + 2;
  const uint64_t r = mix(mix(p.seed) + static_cast<uint64_t>(i) * w + static_cast<uint64_t>(j));
  return static_cast<double>(r >> 11) * 0x1.0p-53;
}

inline void fill_initial(const Params& p, std::vector<double>& grid) {
  const auto w = static_cast<size_t>(p.n) + 2;
  grid.assign(w * w, 0.0);
  for (size_t i = 0; i < w; ++i)
    for (size_t j = 0; j < w; ++j)
      grid[i * w + j] = initial(p, static_cast<int64_t>(i), static_cast<int64_t>(j));
}

// One sweep over rows [1, rows-2] and columns [1, cols-2] of a rows x cols block (row stride
// `stride`): writes v from u.
inline void sweep(const double* __restrict u, double* __restrict v, size_t rows, size_t cols,
                  size_t stride) {
  for (size_t i = 1; i + 1 < rows; ++i) {
    const double* up = u + (i - 1) * stride;
    const double* mid = u + i * stride;
    const double* down = u + (i + 1) * stride;
    double* out = v + i * stride;
    for (size_t j = 1; j + 1 < cols; ++j)
      out[j] = 0.25 * ((up[j] + down[j]) + (mid[j - 1] + mid[j + 1]));
  }
}

// max |v - u| over the interior of two (n+2)^2 grids. A separate pass (on the last sweep only):
// a max-reduction inside the sweep would keep the compiler from vectorising it.
inline double max_change(const double* u, const double* v, size_t w) {
  double diff = 0.0;
  for (size_t i = 1; i + 1 < w; ++i)
    for (size_t j = 1; j + 1 < w; ++j)
      diff = std::max(diff, std::fabs(v[i * w + j] - u[i * w + j]));
  return diff;
}

// Runs `iterations` sweeps on `a` (the (n+2)^2 grid) using `b` as scratch; the result ends up in
// `a`. Returns max |change| of the last sweep (0 for no iterations).
inline double run(const Params& p, std::vector<double>& a, std::vector<double>& b) {
  const auto w = static_cast<size_t>(p.n) + 2;
  b = a;  // the boundary ring of b must hold the boundary values too
  double residual = 0.0;
  for (int it = 0; it < p.iterations; ++it) {
    sweep(a.data(), b.data(), w, w, w);
    if (it + 1 == p.iterations) residual = max_change(a.data(), b.data(), w);
    a.swap(b);
  }
  return residual;
}

inline double interior_sum(const Params& p, const std::vector<double>& grid) {
  const auto w = static_cast<size_t>(p.n) + 2;
  double s = 0.0;
  for (size_t i = 1; i + 1 < w; ++i)
    for (size_t j = 1; j + 1 < w; ++j) s += grid[i * w + j];
  return s;
}

// Deterministic interior positions (row, column) whose final values the function reports.
inline std::vector<std::pair<int, int>> sample_positions(const Params& p) {
  std::vector<std::pair<int, int>> pos;
  pos.emplace_back(1, 1);
  pos.emplace_back(p.n, p.n);
  for (int s = 2; s < kSamples; ++s) {
    const uint64_t r = mix(p.seed * 7919u + static_cast<uint64_t>(s));
    pos.emplace_back(1 + static_cast<int>((r >> 32) % static_cast<uint64_t>(p.n)),
                     1 + static_cast<int>((r & 0xffffffffu) % static_cast<uint64_t>(p.n)));
  }
  return pos;
}

// The value at (i, j) after all iterations, computed on the window of radius `iterations`
// around it (clipped to the grid). Exact: the same arithmetic as the full run.
inline double reference_point(const Params& p, int i, int j) {
  const int64_t k = p.iterations;
  const int64_t last = static_cast<int64_t>(p.n) + 1;
  const int64_t r0 = std::max<int64_t>(0, i - k - 1), r1 = std::min<int64_t>(last, i + k + 1);
  const int64_t c0 = std::max<int64_t>(0, j - k - 1), c1 = std::min<int64_t>(last, j + k + 1);
  const auto rows = static_cast<size_t>(r1 - r0 + 1), cols = static_cast<size_t>(c1 - c0 + 1);
  std::vector<double> a(rows * cols), b;
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c)
      a[r * cols + c] = initial(p, r0 + static_cast<int64_t>(r), c0 + static_cast<int64_t>(c));
  b = a;
  // Window edges that are not the grid's boundary keep their initial values; from the second
  // sweep on they are stale, and the staleness moves inward one point per sweep, so after k
  // sweeps it has covered k - 1 points: the centre, k + 1 points from the edge, is exact.
  for (int64_t it = 0; it < k; ++it) {
    sweep(a.data(), b.data(), rows, cols, cols);
    a.swap(b);
  }
  return a[static_cast<size_t>(i - r0) * cols + static_cast<size_t>(j - c0)];
}

}  // namespace hpcless::bench::jacobi
