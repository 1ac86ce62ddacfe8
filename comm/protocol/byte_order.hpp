// Explicit little-endian loads and stores; the wire never sees a raw struct copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace hpcless::protocol {

template <class T>
inline void store_le(std::byte* p, T v) noexcept {
  static_assert(std::is_unsigned_v<T>);
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xffu);
}

template <class T>
inline T load_le(const std::byte* p) noexcept {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(p[i]) << (8 * i));
  return v;
}

}  // namespace hpcless::protocol
