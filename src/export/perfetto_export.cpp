#include "export/perfetto_export.h"

#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "replay/goroutine_table.h"
#include "replay/schedtrace.h"
#include "replay/site_counts.h"

namespace gorepro::exporting {
namespace {

using replay::GoState;

constexpr uint32_t kSchedtracePid = 1;

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class PerfettoWriter {
 public:
  PerfettoWriter(const replay::TraceReader& reader, const replay::TraceSymbols& symbols, bool include_runtime,
                 std::FILE* out)
      : reader_(reader), symbols_(symbols), include_runtime_(include_runtime), out_(out),
        start_ns_(reader.start_time_ns()) {
    table_.set_state_observer([this](uint64_t goid) { changed_.push_back(goid); });
    buf_ += "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    // Names the recording (and lets every later event begin with a comma).
    const replay::TraceHeader& h = reader.header();
    fmt::format_to(std::back_inserter(buf_), R"({{"ph":"M","name":"process_name","pid":0,"args":{{"name":{}}}}})",
                   json_string(fmt::format("gorepro: {} ({}, {} backend)", h.binary_path, h.go_version, h.backend)));
  }

  void apply(const replay::Event& e) {
    changed_.clear();
    table_.apply(e);
    if (e.goid) changed_.push_back(e.goid);
    if (e.other_goid) changed_.push_back(e.other_goid);
    for (size_t i = 0; i < changed_.size(); ++i) {
      bool seen = false;
      for (size_t j = 0; j < i; ++j) seen |= changed_[j] == changed_[i];
      if (!seen) reconcile(changed_[i], e.time_ns);
    }
    if (e.kind == replay::EventKind::Sched) sched_counters(e);
    if (buf_.size() > (1 << 16)) flush();
  }

  Status finish() {
    const uint64_t end = table_.time_ns();
    for (auto& [goid, t] : tracks_)
      if (t.shown) slice(goid, t, end);
    buf_ += "\n]}\n";
    flush();
    if (std::fflush(out_) != 0 || failed_)
      return make_error("cannot write the trace-event JSON", "check the output file's disk and permissions");
    return Ok{};
  }

 private:
  struct Track {
    GoState state = GoState::Unknown;
    uint32_t reason = 0;
    uint64_t since = 0;
    uint32_t pid = 0;
    bool shown = false;
    uint32_t labels = 0;  // the goroutine's pprof labels when the state began (TraceReader::labels)
  };

  // Brings goid's track to its state in the table: ends the slice of the state it left.
  void reconcile(uint64_t goid, uint64_t now) {
    const replay::Goroutine* g = table_.find(goid);
    const GoState state = g ? g->state : GoState::Dead;
    const uint32_t reason = g && state == GoState::Waiting ? g->wait_reason : 0;
    auto it = tracks_.find(goid);
    if (it == tracks_.end()) {
      if (state == GoState::Dead) return;
      Track t{state, reason, now, 0, false, g->labels};
      open_track(goid, *g, t, now);
      tracks_.emplace(goid, t);
      return;
    }
    Track& t = it->second;
    if (t.state == state && t.reason == reason) return;
    if (t.shown) slice(goid, t, now);
    t.labels = g ? g->labels : t.labels;
    if (state == GoState::Dead) {
      if (t.shown) live(t.pid, -1, now);
      tracks_.erase(it);
      return;
    }
    t.state = state, t.reason = reason, t.since = now;
  }

  void open_track(uint64_t goid, const replay::Goroutine& g, Track& t, uint64_t now) {
    auto [site, inserted] = sites_.try_emplace({g.gopc, g.start_pc});
    if (inserted) {
      SourceFrame frame = symbols_.creation_site(g.gopc);
      std::string start = symbols_.function_at(g.start_pc);
      site->second.shown = include_runtime_ || !symbols_.is_runtime_goroutine(frame, start);
      std::string name = g.gopc ? fmt::format("go {} → {}", replay::site_identity(frame), start) : "created before the trace";
      auto [pid, new_pid] = pids_.try_emplace(name, static_cast<uint32_t>(pids_.size() + 2));
      site->second.pid = pid->second;
      site->second.start = start;
      if (new_pid && site->second.shown)
        fmt::format_to(std::back_inserter(buf_), ",\n{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{},\"args\":{{\"name\":{}}}}}",
                       pid->second, json_string(name));
    }
    t.pid = site->second.pid;
    t.shown = site->second.shown;
    if (!t.shown) return;
    fmt::format_to(std::back_inserter(buf_),
                   ",\n{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{}}}}}", t.pid,
                   goid, json_string(fmt::format("g{} {}", goid, site->second.start)));
    live(t.pid, +1, now);
  }

  void slice(uint64_t goid, const Track& t, uint64_t end) {
    fmt::format_to(std::back_inserter(buf_), ",\n{{\"ph\":\"X\",\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":{},\"name\":{}",
                   t.pid, goid, micros(t.since), duration(t.since, end), slice_name(t.state, t.reason));
    // The goroutine's pprof labels as the slice's args (shown under the slice in both UIs).
    const replay::Labels& labels = reader_.labels(t.labels);
    for (size_t i = 0; i < labels.size(); i++) {
      fmt::format_to(std::back_inserter(buf_), "{}{}:{}", i ? "," : ",\"args\":{", json_string(labels[i].key),
                     json_string(labels[i].value));
    }
    buf_ += labels.empty() ? "}" : "}}";
  }

  void live(uint32_t pid, int delta, uint64_t now) {
    int64_t& n = live_[pid];
    n += delta;
    fmt::format_to(std::back_inserter(buf_),
                   ",\n{{\"ph\":\"C\",\"pid\":{},\"ts\":{},\"name\":\"live goroutines\",\"args\":{{\"live\":{}}}}}", pid,
                   micros(now), n);
  }

  void sched_counters(const replay::Event& e) {
    auto sample = replay::parse_sched_block(reader_.string(e.text));
    if (!sample) return;  // `correlate` reports unreadable samples; a timeline just skips them
    if (!sched_named_) {
      buf_ += R"(,
{"ph":"M","name":"process_name","pid":1,"args":{"name":"schedtrace"}})";
      sched_named_ = true;
    }
    const std::string ts = micros(e.time_ns);
    if (sample->detailed)
      fmt::format_to(std::back_inserter(buf_),
                     ",\n{{\"ph\":\"C\",\"pid\":{},\"ts\":{},\"name\":\"gcount\",\"args\":{{\"gcount\":{}}}}}",
                     kSchedtracePid, ts, sample->live_goroutines());
    int64_t local = 0;
    for (int64_t n : sample->header.local_runqueues) local += n;
    for (const auto& p : sample->ps) local += std::max<int64_t>(p.runqsize, 0);
    if (sample->header.runqueue >= 0)
      fmt::format_to(std::back_inserter(buf_),
                     ",\n{{\"ph\":\"C\",\"pid\":{},\"ts\":{},\"name\":\"runqueue\",\"args\":{{\"global\":{},\"local\":{}}}}}",
                     kSchedtracePid, ts, sample->header.runqueue, local);
  }

  // Trace-event times are microseconds; ns precision kept as three decimals.
  std::string micros(uint64_t t) const {
    uint64_t ns = t > start_ns_ ? t - start_ns_ : 0;
    return fmt::format("{}.{:03}", ns / 1000, ns % 1000);
  }
  static std::string duration(uint64_t from, uint64_t to) {
    uint64_t ns = to > from ? to - from : 0;
    return fmt::format("{}.{:03}", ns / 1000, ns % 1000);
  }

  const std::string& slice_name(GoState s, uint32_t reason) {
    auto [it, inserted] = names_.try_emplace((uint64_t{reason} << 8) | static_cast<uint8_t>(s));
    if (inserted)
      it->second = json_string(s == GoState::Waiting
                                   ? fmt::format("waiting: {}", reader_.header().wait_reason_name(reason))
                                   : std::string(replay::go_state_name(s)));
    return it->second;
  }

  void flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), out_) != buf_.size()) failed_ = true;
    buf_.clear();
  }

  struct Site {
    uint32_t pid = 0;
    bool shown = false;
    std::string start;
  };

  const replay::TraceReader& reader_;
  const replay::TraceSymbols& symbols_;
  const bool include_runtime_;
  std::FILE* out_;
  const uint64_t start_ns_;
  replay::GoroutineTable table_;
  std::vector<uint64_t> changed_;
  std::unordered_map<uint64_t, Track> tracks_;
  std::map<std::pair<uint64_t, uint64_t>, Site> sites_;  // by (gopc, start pc)
  std::unordered_map<std::string, uint32_t> pids_;  // by process name: one per go statement
  std::unordered_map<uint32_t, int64_t> live_;
  std::unordered_map<uint64_t, std::string> names_;
  std::string buf_;
  bool failed_ = false;
  bool sched_named_ = false;
};

}  // namespace

Status write_perfetto(const replay::TraceReader& reader, const replay::TraceSymbols& symbols, uint64_t end_seq,
                      bool include_runtime, std::FILE* out) {
  PerfettoWriter w(reader, symbols, include_runtime, out);
  auto cursor = reader.cursor(0);
  replay::Event e;
  while (cursor.position() < end_seq && cursor.next(e)) w.apply(e);
  return w.finish();
}

}  // namespace gorepro::exporting
