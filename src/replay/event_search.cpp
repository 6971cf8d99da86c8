#include "replay/event_search.h"

namespace gorepro::replay {

std::optional<Event> find_next_event(const TraceReader& reader, uint64_t from, const EventPredicate& pred) {
  auto cursor = reader.cursor(from);
  for (Event e; cursor.next(e);)
    if (pred(e)) return e;
  return std::nullopt;
}

std::optional<Event> find_prev_event(const TraceReader& reader, uint64_t before, const EventPredicate& pred) {
  if (before > reader.event_count()) before = reader.event_count();
  if (before == 0) return std::nullopt;
  for (size_t chunk = reader.chunk_of(before - 1) + 1; chunk-- > 0;) {
    const auto& c = reader.chunks()[chunk];
    if (c.event_count == 0) continue;
    auto cursor = reader.cursor(c.first_seq);
    std::optional<Event> last;
    for (Event e; cursor.position() < before && cursor.position() < c.first_seq + c.event_count && cursor.next(e);)
      if (pred(e)) last = e;
    if (last) return last;
  }
  return std::nullopt;
}

std::optional<Event> event_at(const TraceReader& reader, uint64_t seq) {
  if (seq >= reader.event_count()) return std::nullopt;
  auto cursor = reader.cursor(seq);
  Event e;
  if (!cursor.next(e)) return std::nullopt;
  return e;
}

}  // namespace gorepro::replay
