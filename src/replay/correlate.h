// Correlation: a trace's goroutine table held against the Go runtime's own scheduler dumps
// (GODEBUG=schedtrace, recorded into the trace by `record --schedtrace`, or a log captured
// separately). Three views: a timeline (runtime counts next to gorepro's at each sample); an
// agreement check (with scheddetail: every goroutine of each dump against gorepro's table at
// that instant — exists, status class, wait reason), which is how lost events and missing wake
// paths show up; and growth windows (where the count rises steadily, and which creation sites
// account for it).
//
// Status classes compared: *waiting* (with its wait reason) and *active* — runnable, running
// and syscall together — because gorepro's events say when a goroutine parks, is readied and
// exits, but not when a runnable one is put on a CPU (unless runtime.execute is probed) nor when
// it enters or leaves a system call (too hot to probe). The finer split is reported beside the
// agreement, not counted in it. docs/schedtrace.md has the reasoning.
//
// Timing: a sample's status reads happened between the runtime's print and the arrival of its
// last byte; `window_lo_ns .. window_hi_ns` bounds that (see docs/schedtrace.md). A disagreement
// is *explained* when gorepro recorded an event about that goroutine inside the window widened
// by the transition slack: its state changed while the runtime was printing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "replay/event.h"
#include "replay/schedtrace.h"
#include "replay/trace_session.h"
#include "util/result.h"

namespace gorepro::replay {

struct CorrelateOptions {
  uint64_t transition_slack_ns = 2'000'000;  // widening of a dump's window for "in flight"
  uint64_t growth_window_ns = 500'000'000;   // sliding window of the linear fit
  double growth_min_slope = 5.0;             // goroutines per second
  double growth_min_r2 = 0.6;                // how steady the rise must be
  size_t max_listed = 50;                    // disagreements listed (all are counted)
  // A log captured apart from the trace: its samples have no arrival times. log_offset_ns is
  // the trace time (ns since the trace's clock base) of the log's 0 ms; nullopt: fitted.
  const SchedLog* log = nullptr;
  std::optional<int64_t> log_offset_ns;
};

struct CorrelatedSample {
  uint64_t seq = 0;            // of the sched event (0 for a log)
  uint64_t time_ns = 0;        // arrival of the first byte (a log: aligned time)
  uint64_t window_lo_ns = 0;   // the runtime read its state within [window_lo, window_hi]
  uint64_t window_hi_ns = 0;
  uint64_t runtime_ms = 0;
  bool detailed = false;
  int64_t runtime_goroutines = -1;  // live G lines (-1 without scheddetail)
  int64_t threads = -1, runqueue = -1, idleprocs = -1;
  size_t gorepro_live = 0;
  std::array<size_t, kGoStateCount> gorepro_states{};  // by GoState
  size_t compared = 0, agreed = 0;
  size_t agreed_at_begin = 0;  // at the read itself (or the dump's begin) only
  size_t gc_pauses = 0;        // agreed ones the runtime showed in a GC pause (see correlate.cpp)
  size_t transient = 0;        // G lines with a mid-transition status (_Gcopystack...): not compared
};

struct Disagreement {
  size_t sample = 0;  // index into samples
  uint64_t goid = 0;
  std::string runtime_view;  // "waiting (chan send)", "runnable", "absent"...
  std::string gorepro_view;
  bool explained = false;
  std::string explanation;            // the transition in flight, or why none was found
  std::vector<uint64_t> nearby_events;  // seqs of gorepro's events about goid near the dump
};

struct GrowthSite {
  std::string site;  // file:line (function) of the go statement
  uint64_t gopc = 0;
  int64_t net = 0;   // live goroutines from it at the end minus at the start
};

struct GrowthWindow {
  uint64_t start_ns = 0, end_ns = 0;  // since the trace's clock base
  double slope_per_s = 0;
  double r2 = 0;
  int64_t count_start = 0, count_end = 0;
  std::vector<GrowthSite> sites;
};

struct Correlation {
  uint64_t clock_base_ns = 0;
  std::vector<CorrelatedSample> samples;
  uint64_t samples_unparsed = 0;
  bool detailed = false;
  size_t compared = 0, agreed = 0, agreed_at_begin = 0, gc_pauses = 0, transient = 0;
  // Runnable, running and syscall compared apart (the trace has the state probes), else as one.
  bool four_classes = false;
  // Every goroutine compared where the runtime read it (the trace has G-line read positions).
  bool exact_reads = false;
  // agreed / compared (1 when nothing was compared): the runtime's report of a goroutine
  // matches gorepro's state at some instant of the interval in which the runtime read it.
  double agreement = 1.0;
  double agreement_at_begin = 1.0;  // ... matches gorepro's table as of the dump's begin
  size_t disagreements_total = 0, explained = 0;
  std::vector<Disagreement> disagreements;  // up to max_listed, unexplained ones first
  // Runtime class x gorepro state over every compared goroutine, for the finer split.
  std::vector<std::tuple<std::string, std::string, size_t>> class_matrix;
  std::vector<GrowthWindow> growth_windows;
  // How runtime ms map onto the trace clock: clock_offset_ns = trace time of the runtime's
  // 0 ms (min over samples of arrival - ms), with the per-sample bound in each window.
  int64_t clock_offset_ns = 0;
  bool probed = false;  // every sample carries the tracer's begin/end of its dump
  bool from_log = false;  // samples from a separately captured log, placed by fitting
  uint64_t max_arrival_delay_ns = 0;  // largest (arrival - (offset + ms)) over samples
  std::vector<std::string> notes;
};

// Correlates the session's trace with its recorded samples (or options.log).
Result<Correlation> correlate(TraceSession& session, const CorrelateOptions& options);

nlohmann::json correlation_to_json(const Correlation& c);
std::string format_correlation_text(const Correlation& c, bool timeline);

}  // namespace gorepro::replay
