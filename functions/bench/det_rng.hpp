// Deterministic pseudo-random numbers shared by benchmark packages and their input generators /
// validators (header-only, so packages link nothing): the same seed gives the same sequence on
// every machine and compiler (SplitMix64, fixed-width integer arithmetic only).
//
// Thread safety: a DetRng is a value; use one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace hpcless::bench {

class DetRng {
 public:
  explicit DetRng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, bound) for benchmark inputs (bound > 0; modulo bias is irrelevant here).
  uint64_t below(uint64_t bound) { return next() % bound; }
  // `n` bytes, 8 per step (little-endian).
  std::string bytes(size_t n) {
    std::string out(n, '\0');
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t v = next();
      for (int b = 0; b < 8; ++b) out[i + b] = static_cast<char>((v >> (8 * b)) & 0xff);
    }
    if (i < n) {
      const uint64_t v = next();
      for (int b = 0; b < 8 && i < n; ++i, ++b) out[i] = static_cast<char>((v >> (8 * b)) & 0xff);
    }
    return out;
  }

 private:
  uint64_t state_;
};

}  // namespace hpcless::bench
