// A type-erased reduction, as channels and collective algorithms see it.
//
// apply(in, inout, n) computes inout[i] = in[i] (op) inout[i] for i < n, where `in` holds the
// operand of the LOWER ranks (MPI's convention). Algorithms that receive the operand of higher
// ranks and the op is not commutative use combine_right(), which costs one extra copy.
//
// Thread safety: a Reduction is immutable once built; apply() must be safe to call concurrently
// (built-in ops are).
#pragma once

#include <cstddef>
#include <cstring>
#include <functional>
#include <string>

namespace hpcless::comm {

struct Reduction {
  size_t elem_size = 0;
  bool commutative = true;
  std::function<void(const void* in, void* inout, size_t count)> apply;
  std::string name;  // for error messages ("sum<float>", "user")

  // acc = incoming (op) acc, where incoming comes from lower ranks.
  void combine_left(const void* incoming, void* acc, size_t count) const {
    if (count != 0) apply(incoming, acc, count);
  }
  // acc = acc (op) incoming, where incoming comes from higher ranks. `incoming` is overwritten
  // when the op does not commute.
  void combine_right(void* incoming, void* acc, size_t count) const {
    if (count == 0) return;
    if (commutative) {
      apply(incoming, acc, count);
    } else {
      apply(acc, incoming, count);
      std::memcpy(acc, incoming, count * elem_size);
    }
  }
};

}  // namespace hpcless::comm
