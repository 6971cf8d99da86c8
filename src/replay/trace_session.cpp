#include "replay/trace_session.h"

#include "replay/trace_facts.h"

#include <fmt/format.h>

#include "dwarf/go_binary.h"
#include "replay/duration.h"

namespace gorepro::replay {

Result<ReplayPoint> parse_replay_point(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    if (text.size() > 19) return make_error(fmt::format("event number {} is too large", text), "");
    return ReplayPoint{false, std::stoull(text)};
  }
  if (auto ns = parse_duration(text)) return ReplayPoint{true, *ns};
  return make_error(fmt::format("cannot read --at '{}'", text),
                    "give an event number (--at 1234) or a time since the trace's start (--at 1.5s, --at 250ms)");
}

TraceSession::~TraceSession() = default;

Result<std::unique_ptr<TraceSession>> TraceSession::open(const std::string& trace_path) {
  // Checkpoints are laid while the reader validates: no move after opening replays more than
  // one checkpoint interval, not even the first.
  Replayer::Layer layer;
  auto reader = TraceReader::open(trace_path, layer.visitor());
  if (!reader) return reader.error();
  std::unique_ptr<TraceSession> s(new TraceSession());
  s->reader_ = std::move(*reader);
  s->warnings_ = s->reader_->warnings();
  const TraceHeader& h = s->reader_->header();
  const Symbolizer* symbolizer = nullptr;
  if (h.binary_path.empty()) {
    s->warnings_.push_back("the trace names no binary: showing raw PCs");
  } else if (auto bin = GoBinary::open(h.binary_path); !bin) {
    s->warnings_.push_back(fmt::format("cannot open the traced binary {} ({}): showing raw PCs", h.binary_path,
                                       bin.error().what));
  } else if (!h.build_id.empty() && (*bin)->build_id() != h.build_id) {
    s->warnings_.push_back(fmt::format("{} was rebuilt since the recording (build id {}, recorded {}): showing raw PCs",
                                       h.binary_path, (*bin)->build_id(), h.build_id));
  } else {
    s->binary_ = std::move(*bin);
    symbolizer = &s->binary_->symbolizer();
  }
  s->symbols_ = std::make_unique<TraceSymbols>(symbolizer);
  s->replayer_ = std::make_unique<Replayer>(*s->reader_, std::move(layer));
  return s;
}

Result<uint64_t> TraceSession::replay_to(const std::optional<ReplayPoint>& point) {
  const TraceReader& r = *reader_;
  if (!point) {
    replayer_->run_to_end();
    return r.last_time_ns();
  }
  if (!point->by_time) {
    if (point->value >= r.event_count())
      return make_error(fmt::format("--at {}: the trace has {} events", point->value, r.event_count()),
                        r.event_count() ? fmt::format("give an event number below {}", r.event_count()) : "");
    replayer_->seek_to_event(point->value);
    return replayer_->table().time_ns();
  }
  const uint64_t t = r.start_time_ns() + point->value;
  replayer_->seek_time(t);
  return t;
}

namespace {

// Opens trace_path and replays it to `at` ("" for the end); warnings are appended.
Result<std::unique_ptr<TraceSession>> session_at(const std::string& trace_path, const std::string& at,
                                                 std::vector<std::string>& warnings, uint64_t* now) {
  std::optional<ReplayPoint> point;
  if (!at.empty()) {
    auto p = parse_replay_point(at);
    if (!p) return p.error();
    point = *p;
  }
  auto session = TraceSession::open(trace_path);
  if (!session) return session.error();
  warnings.insert(warnings.end(), (*session)->warnings().begin(), (*session)->warnings().end());
  auto t = (*session)->replay_to(point);
  if (!t) return t.error();
  *now = *t;
  return session;
}

}  // namespace

Result<LeakReport> report_trace(const std::string& trace_path, const std::string& at, const ReportOptions& options,
                                std::vector<std::string>& warnings) {
  uint64_t now = 0;
  auto session = session_at(trace_path, at, warnings, &now);
  if (!session) return session.error();
  return build_report((*session)->reader(), (*session)->replayer().table(), (*session)->symbols(), options, now);
}

Result<PredicateOutcome> hold_predicate(const std::string& trace_path, const std::string& at, const Predicate& predicate,
                                        std::vector<std::string>& warnings) {
  uint64_t now = 0;
  auto session = session_at(trace_path, at, warnings, &now);
  if (!session) return session.error();
  TraceFacts facts((*session)->reader(), (*session)->symbols(), (*session)->replayer().position());
  return PredicateOutcome{predicate.eval(facts), predicate.explain(facts)};
}

}  // namespace gorepro::replay
