// Event search: the events a debugger-like user moves between ("the next creation at main.go:12",
// "the previous park") found by decoding the trace with cursors, without touching a
// GoroutineTable — the Replayer only moves once the target is known, via its checkpoints.
// Backward search decodes one chunk at a time, newest first, so its cost is bounded by the
// distance to the match (rounded up to a chunk), like forward search.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

#include "replay/event.h"
#include "replay/goroutine_table.h"
#include "replay/trace_reader.h"

namespace gorepro::replay {

using EventPredicate = std::function<bool(const Event&)>;

// The first event with seq >= from that satisfies pred.
std::optional<Event> find_next_event(const TraceReader& reader, uint64_t from, const EventPredicate& pred);
// The last event with seq < before that satisfies pred.
std::optional<Event> find_prev_event(const TraceReader& reader, uint64_t before, const EventPredicate& pred);
// Event seq itself (nullopt past the end).
std::optional<Event> event_at(const TraceReader& reader, uint64_t seq);

// goid → how it was created (gopc, start pc), over the whole trace: what ready and exit events,
// which carry only a goid, need to be matched against a creation site when searching backward
// (forward, the table and the creates on the way suffice). Built on first use by one pass over
// the trace, and holds an entry per goroutine ever created (~140 MB for 2.5 M of them).
class CreationIndex {
 public:
  explicit CreationIndex(const TraceReader& reader) : reader_(reader) {}
  // The creation of goid; nullopt for goroutines the trace never saw created.
  std::optional<CreationKey> find(uint64_t goid) const;

 private:
  const TraceReader& reader_;
  mutable bool built_ = false;
  mutable std::unordered_map<uint64_t, CreationKey> by_goid_;
};

}  // namespace gorepro::replay
