#include "replay/lost_events.h"

#include <algorithm>

#include "replay/byte_codec.h"
#include "replay/trace_format.h"

namespace gorepro::replay {

std::vector<uint8_t> encode_lost_events(const LostEvents& lost) {
  std::vector<uint8_t> goids;
  ByteSink g(goids);
  uint64_t prev = 0;
  for (uint64_t goid : lost.goids) {  // ascending: deltas from the previous one
    g.varint(goid - prev);
    prev = goid;
  }
  std::vector<uint8_t> body;
  ByteSink s(body);
  s.varint(format::kLostFieldCount << 1);
  s.varint(lost.count);
  if (lost.unattributed) {
    s.varint(format::kLostFieldUnattributed << 1);
    s.varint(lost.unattributed);
  }
  if (!goids.empty()) {
    s.varint(format::kLostFieldGoids << 1 | 1);
    s.varint(goids.size());
    s.bytes({reinterpret_cast<const char*>(goids.data()), goids.size()});
  }
  if (lost.time_ns) {
    s.varint(format::kLostFieldTime << 1);
    s.varint(lost.time_ns);
  }
  return body;
}

bool decode_lost_events(std::span<const uint8_t> body, LostEvents& out) {
  out = LostEvents{};
  ByteSource src(body);
  while (!src.empty()) {
    uint64_t key, v;
    if (!src.varint(key)) return false;
    if (key & 1) {  // length-delimited
      std::span<const uint8_t> bytes;
      if (!src.varint(v) || !src.bytes(v, bytes)) return false;
      if (key >> 1 == format::kLostFieldGoids) {
        ByteSource g(bytes);
        uint64_t goid = 0;
        while (!g.empty()) {
          uint64_t d;
          if (!g.varint(d) || d == 0 || goid + d < goid) return false;  // ascending, never 0
          goid += d;
          out.goids.push_back(goid);
        }
      }
      continue;  // unknown fields are skipped
    }
    if (!src.varint(v)) return false;
    switch (key >> 1) {
      case format::kLostFieldCount: out.count = v; break;
      case format::kLostFieldUnattributed: out.unattributed = v; break;
      case format::kLostFieldTime: out.time_ns = v; break;
      default: break;
    }
  }
  return out.unattributed <= out.count;
}

void LossSummary::add(const LostEvents& lost, uint64_t before_seq) {
  if (lost.count && !count) first_before_seq = before_seq;
  records++;
  count += lost.count;
  unattributed += lost.unattributed;
  goids.insert(lost.goids.begin(), lost.goids.end());
}

}  // namespace gorepro::replay
