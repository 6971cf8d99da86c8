// EventView: one event of a trace as a person reads it (a summary line, then its stack) and as a
// script reads it (a JSON object). Times are since the recording's start; names go through
// TraceSymbols, so a trace whose binary is gone still prints (raw PCs).
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "replay/event.h"
#include "replay/trace_reader.h"
#include "replay/trace_symbols.h"

namespace gorepro::replay {

class EventView {
 public:
  EventView(const TraceReader& reader, const TraceSymbols& symbols) : reader_(reader), symbols_(symbols) {}

  // "+1.23ms" since the recording's start.
  std::string since_start(uint64_t time_ns) const;
  // "event 12  +1.23ms  g18 created by g1 at main.go:12 (main.query), starts main.replica"
  std::string summary(const Event& e) const;
  // The summary, then the event's stack (creation or block), one frame per line.
  std::string details(const Event& e) const;
  // {"seq", "time_ns" (since start), "kind", "goid", "tid", ...kind's fields}; stacks only with_stack.
  nlohmann::json to_json(const Event& e, bool with_stack) const;

 private:
  std::string what(const Event& e) const;
  const TraceReader& reader_;
  const TraceSymbols& symbols_;
};

}  // namespace gorepro::replay
