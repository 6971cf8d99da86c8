#include "replay/snapshot_mark.h"

#include <algorithm>

#include "replay/byte_codec.h"
#include "replay/trace_format.h"

namespace gorepro::replay {

std::vector<uint8_t> encode_snapshot_mark(const SnapshotMark& m) {
  std::vector<uint8_t> body;
  ByteSink s(body);
  const std::pair<uint64_t, uint64_t> fields[] = {
      {format::kSnapFieldTime, m.time_ns},         {format::kSnapFieldInterval, m.interval_ns},
      {format::kSnapFieldReadNs, m.read_ns},       {format::kSnapFieldGoroutines, m.goroutines},
      {format::kSnapFieldRetries, m.retries},      {format::kSnapFieldWindow, m.window ? 1u : 0u},
      {format::kSnapFieldDropped, m.dropped_events}, {format::kSnapFieldWindowNs, m.window_ns},
      {format::kSnapFieldWindowBytes, m.window_bytes},
  };
  for (auto [field, value] : fields) {
    if (!value && field != format::kSnapFieldTime) continue;  // absent = 0
    s.varint(field << 1);
    s.varint(value);
  }
  return body;
}

bool decode_snapshot_mark(std::span<const uint8_t> body, SnapshotMark& out) {
  out = SnapshotMark{};
  ByteSource src(body);
  bool has_time = false;
  while (!src.empty()) {
    uint64_t key, v;
    if (!src.varint(key)) return false;
    if (key & 1) {  // length-delimited: no such field yet; skipped
      std::span<const uint8_t> bytes;
      if (!src.varint(v) || !src.bytes(v, bytes)) return false;
      continue;
    }
    if (!src.varint(v)) return false;
    switch (key >> 1) {
      case format::kSnapFieldTime: out.time_ns = v, has_time = true; break;
      case format::kSnapFieldInterval: out.interval_ns = v; break;
      case format::kSnapFieldReadNs: out.read_ns = v; break;
      case format::kSnapFieldGoroutines: out.goroutines = v; break;
      case format::kSnapFieldRetries: out.retries = v; break;
      case format::kSnapFieldWindow: out.window = v == 1; break;
      case format::kSnapFieldDropped: out.dropped_events = v; break;
      case format::kSnapFieldWindowNs: out.window_ns = v; break;
      case format::kSnapFieldWindowBytes: out.window_bytes = v; break;
      default: break;
    }
  }
  return has_time;
}

void SnapshotSummary::add(const SnapshotMark& m) {
  if (!count) first_ns = m.time_ns;
  count++;
  interval_ns = m.interval_ns;
  last_ns = m.time_ns;
  max_read_ns = std::max(max_read_ns, m.read_ns);
  retries += m.retries;
  times.push_back(m.time_ns);
}

}  // namespace gorepro::replay
