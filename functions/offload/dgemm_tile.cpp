// dgemm.tile: one block of rows of C = A * B with OpenBLAS DGEMM on one core, for MPI ranks that
// offload part of a matrix multiplication to leased workers (experiments/offload).
//
// Input and output: tile_format.hpp (header + A block + B in, C block out). Sizes are checked
// strictly against the input length before anything is touched; a bad input fails the
// invocation with a one-line message and the worker keeps serving.
#include <cblas.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "functions/abi/hpcless_function.hpp"
#include "functions/offload/tile_format.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
namespace off = hpcless::offload;

bool aligned_for_double(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % alignof(double) == 0;
}

// The doubles of `bytes`: in place when the worker's buffer is aligned for double (the usual
// case: the payload follows a header of a multiple of 8 bytes), else an aligned copy.
class Operand {
 public:
  explicit Operand(std::span<const std::byte> bytes) {
    if (aligned_for_double(bytes.data())) {
      data_ = reinterpret_cast<const double*>(bytes.data());
    } else {
      copy_.resize(bytes.size() / sizeof(double));
      std::memcpy(copy_.data(), bytes.data(), bytes.size());
      data_ = copy_.data();
    }
  }
  const double* data() const noexcept { return data_; }

 private:
  const double* data_ = nullptr;
  std::vector<double> copy_;
};

int dgemm_tile(Context& ctx, std::span<const std::byte> in, Output& out) {
  const off::TileInput t = off::decode_tile_input(in);  // throws with the reason
  const off::TileShape& s = t.shape;
  const uint64_t out_bytes = off::tile_output_bytes(s);
  const auto buf = out.reserve(out_bytes);
  if (buf.data() == nullptr)
    return ctx.fail("dgemm.tile: the result does not fit in the connection's payload limit");

  const Operand a(t.a), b(t.b);
  std::vector<double> c_copy;
  double* c = reinterpret_cast<double*>(buf.data());
  if (!aligned_for_double(buf.data())) {
    c_copy.resize(out_bytes / sizeof(double));
    c = c_copy.data();
  }
  // Per call, not once: another package in this process may have raised it, and the function
  // must stay on its worker's pinned core.
  openblas_set_num_threads(1);
  {
    Phase phase(ctx, HPCLESS_PHASE_COMPUTE);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(s.m),
                static_cast<int>(s.n), static_cast<int>(s.k), 1.0, a.data(),
                static_cast<int>(s.k), b.data(), static_cast<int>(s.n), 0.0, c,
                static_cast<int>(s.n));
  }
  if (!c_copy.empty()) std::memcpy(buf.data(), c_copy.data(), out_bytes);
  out.commit(out_bytes);
  return 0;
}

}  // namespace

HPCLESS_PACKAGE("hpcless-offload", HPCLESS_NAMED_FUNCTION("dgemm.tile", dgemm_tile))
