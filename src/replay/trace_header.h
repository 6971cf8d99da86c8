// TraceHeader: what a trace says about its own recording — which binary, Go version, backend,
// clock, and the tables needed to name things without the binary (wait reasons, states). It is
// stored as a JSON object in the trace's first chunk so that fields can be added without a
// format change and any language can read it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "util/result.h"

namespace gorepro::replay {

// Both clocks read at the start of recording: event times are CLOCK_MONOTONIC; the wall time
// lets tools print absolute times.
struct ClockBase {
  uint64_t monotonic_ns = 0;
  int64_t wall_unix_ns = 0;

  static ClockBase now();
  bool operator==(const ClockBase&) const = default;
};

struct TraceHeader {
  std::string tool_version;  // gorepro version that wrote the trace; the writer fills it in
  std::string binary_path;
  std::string build_id;      // Go build id (or GNU build id); "" if none
  std::string go_version;    // e.g. "go1.22.12"
  std::string backend;       // "ptrace", "gdb" or "ebpf"
  std::vector<std::string> probes;
  ClockBase clock;
  std::vector<std::string> argv;  // launched: the command line
  int64_t pid = 0;                // attached: the pid (0 when launched)
  int gomaxprocs = 0;             // 0 = unknown
  std::vector<std::string> wait_reasons;  // index = the traced runtime's waitReason code
  std::vector<std::string> state_names;   // index = GoState; the writer fills it in

  // The wait reason for a code, or "waitReason(N)" when the table lacks it.
  std::string wait_reason_name(uint32_t code) const;
  bool operator==(const TraceHeader&) const = default;
};

nlohmann::json header_to_json(const TraceHeader& h);
// Unknown keys are ignored (newer writers may add them); wrongly typed known keys are an error.
Result<TraceHeader> header_from_json(const nlohmann::json& j);

}  // namespace gorepro::replay
