#include "replay/leak_verdicts.h"

#include <algorithm>

#include "replay/byte_codec.h"
#include "replay/trace_format.h"

namespace gorepro::replay {

namespace {
constexpr const char* kNames[kVerdictCount] = {"running", "runnable", "time_io", "may_wake", "leaked"};
}  // namespace

const char* to_string(Verdict v) {
  const auto i = static_cast<uint8_t>(v);
  return i < kVerdictCount ? kNames[i] : "unknown";
}

std::optional<Verdict> verdict_from_string(std::string_view s) {
  for (uint8_t i = 0; i < kVerdictCount; i++) {
    if (s == kNames[i]) return static_cast<Verdict>(i);
  }
  return std::nullopt;
}

const GoroutineVerdict* LeakVerdicts::find(uint64_t goid) const {
  for (const GoroutineVerdict& g : goroutines) {
    if (g.goid == goid) return &g;
  }
  return nullptr;
}

size_t LeakVerdicts::count(Verdict v) const {
  return static_cast<size_t>(std::count_if(goroutines.begin(), goroutines.end(),
                                           [v](const GoroutineVerdict& g) { return g.verdict == v; }));
}

std::vector<uint8_t> encode_leak_verdicts(const LeakVerdicts& v, const std::vector<uint64_t>& evidence_ids) {
  std::vector<uint8_t> body;
  ByteSink s(body);
  const std::pair<uint64_t, uint64_t> fields[] = {
      {format::kVerdictFieldTime, v.time_ns},
      {format::kVerdictFieldScanNs, v.scan_ns},
      {format::kVerdictFieldBytes, v.bytes_scanned},
      {format::kVerdictFieldHeap, v.heap_bytes},
  };
  for (auto [field, value] : fields) {
    if (!value && field != format::kVerdictFieldTime) continue;  // absent = 0
    s.varint(field << 1);
    s.varint(value);
  }
  for (size_t i = 0; i < v.goroutines.size(); i++) {
    const GoroutineVerdict& g = v.goroutines[i];
    std::vector<uint8_t> entry;
    ByteSink e(entry);
    e.varint(g.goid);
    e.varint(static_cast<uint8_t>(g.verdict));
    e.varint(i < evidence_ids.size() ? evidence_ids[i] : 0);
    e.varint(g.objects.size());
    for (uint64_t o : g.objects) e.varint(o);
    s.varint(format::kVerdictFieldGoroutine << 1 | 1);
    s.varint(entry.size());
    s.bytes(std::string_view(reinterpret_cast<const char*>(entry.data()), entry.size()));
  }
  return body;
}

bool decode_leak_verdicts(std::span<const uint8_t> body, LeakVerdicts& out, std::vector<uint64_t>& evidence_ids) {
  out = LeakVerdicts{};
  evidence_ids.clear();
  ByteSource src(body);
  bool has_time = false;
  while (!src.empty()) {
    uint64_t key, v;
    if (!src.varint(key) || !src.varint(v)) return false;
    if (key & 1) {
      std::span<const uint8_t> bytes;
      if (!src.bytes(v, bytes)) return false;
      if ((key >> 1) != format::kVerdictFieldGoroutine) continue;  // unknown: skipped
      ByteSource e(bytes);
      GoroutineVerdict g;
      uint64_t code, evidence, n;
      if (!e.varint(g.goid) || !e.varint(code) || !e.varint(evidence) || !e.varint(n)) return false;
      if (code >= kVerdictCount || n > bytes.size()) return false;
      g.verdict = static_cast<Verdict>(code);
      for (uint64_t k = 0; k < n; k++) {
        uint64_t o;
        if (!e.varint(o)) return false;
        g.objects.push_back(o);
      }
      if (!e.empty()) return false;
      out.goroutines.push_back(std::move(g));
      evidence_ids.push_back(evidence);
      continue;
    }
    switch (key >> 1) {
      case format::kVerdictFieldTime: out.time_ns = v, has_time = true; break;
      case format::kVerdictFieldScanNs: out.scan_ns = v; break;
      case format::kVerdictFieldBytes: out.bytes_scanned = v; break;
      case format::kVerdictFieldHeap: out.heap_bytes = v; break;
      default: break;
    }
  }
  return has_time;
}

}  // namespace gorepro::replay
