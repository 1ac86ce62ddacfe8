// Typed reductions for Communicator: built-in sum/prod/min/max on arithmetic types (int32_t,
// int64_t, float, double, ...) and user functions that declare whether they commute.
//
//   comm.allreduce(in, out, Op::kSum);
//   auto matmul = ReduceOp<Mat2>::custom(
//       [](std::span<const Mat2> in, std::span<Mat2> inout) { ... inout[i] = in[i] * inout[i]; },
//       /*commutative=*/false);
//
// A user function computes inout[i] = in[i] (op) inout[i], where `in` holds the operand of the
// LOWER ranks (as in MPI); the op must be associative. For a non-commutative op every result is
// the product in rank order: x_0 (op) x_1 (op) ... (op) x_{p-1}.
// Integer sums and products wrap around on overflow (two's complement).
//
// Thread safety: immutable after construction; may be shared across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <type_traits>

#include "comm/channel/reduction.hpp"

namespace hpcless::comm {

enum class Op : uint8_t { kSum, kProd, kMin, kMax };

// Element types the communicator moves: plain bytes, copied with memcpy.
template <class T>
concept Element = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && !std::is_const_v<T>;

namespace detail {

template <class T>
T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return static_cast<T>(a + b);
  }
}

template <class T>
T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, T>>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}

template <class T, Op kOp>
void builtin_kernel(const void* in, void* inout, size_t n) {
  const T* __restrict a = static_cast<const T*>(in);
  T* __restrict b = static_cast<T*>(inout);
  for (size_t i = 0; i < n; ++i) {
    if constexpr (kOp == Op::kSum) b[i] = wrap_add(a[i], b[i]);
    if constexpr (kOp == Op::kProd) b[i] = wrap_mul(a[i], b[i]);
    if constexpr (kOp == Op::kMin) b[i] = a[i] < b[i] ? a[i] : b[i];
    if constexpr (kOp == Op::kMax) b[i] = a[i] > b[i] ? a[i] : b[i];
  }
}

inline const char* op_name(Op op) {
  switch (op) {
    case Op::kSum:
      return "sum";
    case Op::kProd:
      return "prod";
    case Op::kMin:
      return "min";
    case Op::kMax:
      return "max";
  }
  return "?";
}

}  // namespace detail

template <Element T>
class ReduceOp {
 public:
  // Built-in op (implicit, so that Op::kSum can be passed where a ReduceOp<T> is expected).
  ReduceOp(Op op)  // NOLINT(google-explicit-constructor)
      requires std::is_arithmetic_v<T> {
    r_.elem_size = sizeof(T);
    r_.commutative = true;
    r_.name = detail::op_name(op);
    switch (op) {
      case Op::kSum:
        r_.apply = &detail::builtin_kernel<T, Op::kSum>;
        break;
      case Op::kProd:
        r_.apply = &detail::builtin_kernel<T, Op::kProd>;
        break;
      case Op::kMin:
        r_.apply = &detail::builtin_kernel<T, Op::kMin>;
        break;
      case Op::kMax:
        r_.apply = &detail::builtin_kernel<T, Op::kMax>;
        break;
    }
  }

  // fn(in, inout): inout[i] = in[i] (op) inout[i], `in` from lower ranks. fn must be
  // associative; it may run on any rank, on partial results, many times per call.
  static ReduceOp custom(std::function<void(std::span<const T> in, std::span<T> inout)> fn,
                         bool commutative) {
    ReduceOp op;
    op.r_.elem_size = sizeof(T);
    op.r_.commutative = commutative;
    op.r_.name = "user";
    op.r_.apply = [fn = std::move(fn)](const void* in, void* inout, size_t n) {
      fn(std::span<const T>(static_cast<const T*>(in), n), std::span<T>(static_cast<T*>(inout), n));
    };
    return op;
  }

  const Reduction& erased() const noexcept { return r_; }
  bool commutative() const noexcept { return r_.commutative; }

 private:
  ReduceOp() = default;
  Reduction r_;
};

}  // namespace hpcless::comm
