// Bounds-checked reads of little-endian values from a byte span (tables copied from a binary):
// nullopt when the value would run past the end, never a read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace gorepro {

template <class T>
std::optional<T> read_le(std::span<const uint8_t> bytes, size_t off) {
  if (off > bytes.size() || bytes.size() - off < sizeof(T)) return std::nullopt;
  T v;
  std::memcpy(&v, bytes.data() + off, sizeof(T));
  return v;
}

}  // namespace gorepro
