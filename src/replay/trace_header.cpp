#include "replay/trace_header.h"

#include <time.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace gorepro::replay {

ClockBase ClockBase::now() {
  timespec mono{}, wall{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &wall);
  return {static_cast<uint64_t>(mono.tv_sec) * 1000000000ull + static_cast<uint64_t>(mono.tv_nsec),
          static_cast<int64_t>(wall.tv_sec) * 1000000000ll + wall.tv_nsec};
}

std::string TraceHeader::wait_reason_name(uint32_t code) const {
  if (code < wait_reasons.size() && !wait_reasons[code].empty()) return wait_reasons[code];
  return fmt::format("waitReason({})", code);
}

nlohmann::json header_to_json(const TraceHeader& h) {
  return {
      {"tool_version", h.tool_version},
      {"binary_path", h.binary_path},
      {"build_id", h.build_id},
      {"go_version", h.go_version},
      {"backend", h.backend},
      {"probes", h.probes},
      {"clock", {{"monotonic_ns", h.clock.monotonic_ns}, {"wall_unix_ns", h.clock.wall_unix_ns}}},
      {"argv", h.argv},
      {"pid", h.pid},
      {"gomaxprocs", h.gomaxprocs},
      {"wait_reasons", h.wait_reasons},
      {"state_names", h.state_names},
  };
}

namespace {

// Reads j[key] into out when present; a value of the wrong type is an error.
template <class T>
bool read_field(const nlohmann::json& j, const char* key, T& out, std::string& bad) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  try {
    out = it->template get<T>();
    return true;
  } catch (const nlohmann::json::exception&) {
    bad = key;
    return false;
  }
}

}  // namespace

Result<TraceHeader> header_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("trace header is not a JSON object", "the trace is corrupted");
  TraceHeader h;
  std::string bad;
  bool ok = read_field(j, "tool_version", h.tool_version, bad) &&
            read_field(j, "binary_path", h.binary_path, bad) &&
            read_field(j, "build_id", h.build_id, bad) &&
            read_field(j, "go_version", h.go_version, bad) &&
            read_field(j, "backend", h.backend, bad) && read_field(j, "probes", h.probes, bad) &&
            read_field(j, "argv", h.argv, bad) && read_field(j, "pid", h.pid, bad) &&
            read_field(j, "gomaxprocs", h.gomaxprocs, bad) &&
            read_field(j, "wait_reasons", h.wait_reasons, bad) &&
            read_field(j, "state_names", h.state_names, bad);
  if (ok) {
    auto clock = j.find("clock");
    if (clock != j.end()) {
      ok = clock->is_object() && read_field(*clock, "monotonic_ns", h.clock.monotonic_ns, bad) &&
           read_field(*clock, "wall_unix_ns", h.clock.wall_unix_ns, bad);
      if (!ok && bad.empty()) bad = "clock";
    }
  }
  if (!ok) return make_error(fmt::format("trace header field '{}' has the wrong type", bad),
                             "the trace is corrupted or was written by an incompatible tool");
  return h;
}

}  // namespace gorepro::replay
