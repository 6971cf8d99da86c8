// Event search: the events a debugger-like user moves between ("the next creation at main.go:12",
// "the previous park") found by decoding the trace with cursors, without touching a
// GoroutineTable — the Replayer only moves once the target is known, via its checkpoints.
// Backward search decodes one chunk at a time, newest first, so its cost is bounded by the
// distance to the match (rounded up to a chunk), like forward search.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "replay/event.h"
#include "replay/trace_reader.h"

namespace gorepro::replay {

using EventPredicate = std::function<bool(const Event&)>;

// The first event with seq >= from that satisfies pred.
std::optional<Event> find_next_event(const TraceReader& reader, uint64_t from, const EventPredicate& pred);
// The last event with seq < before that satisfies pred.
std::optional<Event> find_prev_event(const TraceReader& reader, uint64_t before, const EventPredicate& pred);
// Event seq itself (nullopt past the end).
std::optional<Event> event_at(const TraceReader& reader, uint64_t seq);

}  // namespace gorepro::replay
