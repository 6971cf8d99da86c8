// ByteSink / ByteSource: the primitive encodings of the trace format — LEB128 varints, zigzag
// for signed deltas, little-endian fixed-width integers. ByteSource never reads past its end:
// every read reports failure instead, so decoding hostile input cannot overrun or allocate
// beyond what the input itself holds.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace gorepro::replay {

inline uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t zigzag_decode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}
// The zigzag of the wrapping difference a - b: deltas between unrelated 64-bit values (PCs,
// addresses) must round-trip even when the signed difference would overflow.
inline uint64_t zigzag_delta(uint64_t a, uint64_t b) {
  return zigzag_encode(static_cast<int64_t>(a - b));
}
inline uint64_t apply_delta(uint64_t base, uint64_t zz) {
  return base + static_cast<uint64_t>(zigzag_decode(zz));
}

// Appends encodings to a byte vector. The vector's capacity is reused across chunks so that
// steady-state encoding does not allocate.
class ByteSink {
 public:
  explicit ByteSink(std::vector<uint8_t>& out) : out_(out) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void varint(uint64_t v) {
    uint8_t buf[10];
    size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<uint8_t>(v) | 0x80;
      v >>= 7;
    }
    buf[n++] = static_cast<uint8_t>(v);
    out_.insert(out_.end(), buf, buf + n);
  }
  void fixed16(uint16_t v) { fixed(v, 2); }
  void fixed32(uint32_t v) { fixed(v, 4); }
  void bytes(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }

  static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) { v >>= 7; ++n; }
    return n;
  }

 private:
  void fixed(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t>& out_;
};

// Reads encodings from a bounded byte range. Each read returns false (and leaves the output
// unspecified) when the input ends early or a varint is longer than 10 bytes.
class ByteSource {
 public:
  explicit ByteSource(std::span<const uint8_t> data) : p_(data.data()), end_(data.data() + data.size()) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }
  const uint8_t* position() const { return p_; }

  bool u8(uint8_t& v) {
    if (p_ == end_) return false;
    v = *p_++;
    return true;
  }
  bool varint(uint64_t& v) {
    // Fast path: most values in a trace fit in one byte.
    if (p_ != end_ && *p_ < 0x80) {
      v = *p_++;
      return true;
    }
    uint64_t result = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p_ == end_) return false;
      uint8_t b = *p_++;
      if (shift == 63 && b > 1) return false;  // more than 64 bits
      result |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) {
        v = result;
        return true;
      }
    }
    return false;
  }
  bool fixed16(uint16_t& v) { return fixed(v, 2); }
  bool fixed32(uint32_t& v) { return fixed(v, 4); }
  // A view of the next n bytes; fails without moving when fewer remain.
  bool bytes(size_t n, std::span<const uint8_t>& out) {
    if (n > remaining()) return false;
    out = {p_, n};
    p_ += n;
    return true;
  }
  bool skip(size_t n) {
    if (n > remaining()) return false;
    p_ += n;
    return true;
  }

 private:
  template <class T>
  bool fixed(T& v, int width) {
    if (remaining() < static_cast<size_t>(width)) return false;
    uint64_t r = 0;
    for (int i = 0; i < width; ++i) r |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += width;
    v = static_cast<T>(r);
    return true;
  }
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace gorepro::replay
