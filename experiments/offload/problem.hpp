// The problem the MPI offloading example solves: C = A * B with n x n matrices whose elements are
// a pure function of (seed, matrix, index), as in 601.matmul (functions/601.matmul/
// matmul_common.hpp, whose generator this reuses). Every rank generates exactly the rows it
// needs without communication, and rank 0 can rebuild all of A for the reference DGEMM.
#pragma once

#include <cstdint>
#include <vector>

#include "functions/601.matmul/matmul_common.hpp"

namespace hpcless::offload {

// Rows [row_begin, row_end) of A (n columns), row-major.
inline std::vector<double> matrix_a_rows(uint64_t seed, uint32_t n, uint32_t row_begin,
                                         uint32_t row_end) {
  std::vector<double> a(uint64_t{row_end - row_begin} * n);
  const uint64_t first = uint64_t{row_begin} * n;
  for (uint64_t i = 0; i < a.size(); ++i)
    a[i] = bench::matmul::element(seed, bench::matmul::kMatrixA, first + i);
  return a;
}

// All of B (n x n), row-major.
inline std::vector<double> matrix_b(uint64_t seed, uint32_t n) {
  std::vector<double> b(uint64_t{n} * n);
  for (uint64_t i = 0; i < b.size(); ++i)
    b[i] = bench::matmul::element(seed, bench::matmul::kMatrixB, i);
  return b;
}

}  // namespace hpcless::offload
