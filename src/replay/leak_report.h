// LeakReport: the goroutines alive at one point of a trace, grouped by what makes them the
// same leak — creation site, start function, state, wait reason, block site — with per-group
// counts, ages and representative stacks. `gorepro report` prints it; `gorepro check` judges it.
// Built from a GoroutineTable; filtering (runtime goroutines, --min-age, ignore rules) happens
// per goroutine before grouping, so a group's numbers only count what is shown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dwarf/symbolizer.h"
#include "replay/goroutine_table.h"
#include "replay/labels.h"
#include "replay/trace_reader.h"
#include "replay/trace_symbols.h"
#include "util/result.h"

namespace gorepro::replay {

struct ReportOptions {
  bool include_runtime = false;           // --all
  uint64_t min_age_ns = 0;                // hide goroutines in their state for less
  size_t max_ids = 10;                    // goroutine ids listed per group
  std::vector<std::string> ignore_sites;  // "FILE:LINE" of a go statement; FILE matches by suffix
  // ECMAScript regexes; a goroutine is ignored when one matches (searches) any function of its
  // creation stack or block stack, its creation site or its start function.
  std::vector<std::string> ignore_funcs;
  // report --verdict leaked: only goroutines with this verdict (traces with verdicts only).
  std::optional<Verdict> only_verdict;
  // --label KEY=VALUE (repeatable, ANDed): only goroutines whose pprof labels have them all.
  std::vector<LabelFilter> label_filters;
  // --group-by label:KEY: one group per value of that pprof label (goroutines without it in one
  // "(no KEY)" group) instead of one per go statement, start function, state and block site.
  std::string group_by_label;
};

struct AgeStats {
  uint64_t min = 0, median = 0, max = 0;  // median: the upper middle for an even count
};

struct LeakGroup {
  SourceFrame creation_site;
  std::string start_function;
  GoState state = GoState::Unknown;
  std::string wait_reason;  // "" unless waiting
  SourceFrame block_site;   // empty unless waiting with a block stack
  uint64_t created = 0;     // ever created at this site + start function (incl. preexisting)
  uint64_t alive = 0;
  uint64_t preexisting = 0;
  uint64_t incomplete = 0;  // alive goroutines whose history misses events the recorder lost
  AgeStats age;             // time in the current state
  std::vector<uint64_t> goids;  // ascending, at most max_ids
  std::vector<SourceFrame> creation_stack, block_stack;  // of the lowest goid
  // What its waiting goroutines are parked on (the park's object: a channel, a semaphore's
  // address; 0 = not recorded), with how many wait on each, most first.
  std::vector<std::pair<uint64_t, uint64_t>> blocked_on;
  // When the trace has leak verdicts (and the report is at its end): the group's verdict, the
  // lowest goid's evidence and objects, and every member's own verdict.
  std::optional<Verdict> verdict;
  std::string verdict_evidence;
  std::vector<uint64_t> objects;
  std::vector<GoroutineVerdict> members;  // ascending goid
  // The history's signal, with or without verdicts: how many of its goroutines are "growing and
  // never woken" (TraceFacts::never_woken, docs/verdicts.md), and why in words.
  uint64_t never_woken = 0;
  std::string never_woken_evidence;
  // The pprof label sets of its goroutines, with how many have each (most first); goroutines
  // without labels are not counted.
  std::vector<std::pair<Labels, uint64_t>> labels;
  // Grouped by a label (ReportOptions::group_by_label): its value, or none ("(no KEY)"). The
  // fields above then describe the lowest goid, and `mixed` says whether the others differ in
  // state, wait reason or block site; `sites` lists the go statements with their counts.
  bool by_label = false;
  std::optional<std::string> label_value;
  bool mixed = false;
  std::vector<std::pair<SourceFrame, uint64_t>> sites;
};

struct LeakReport {
  std::string binary, go_version, backend;
  uint64_t events = 0;       // in the trace
  uint64_t duration_ns = 0;  // of the trace
  uint64_t at_events = 0;    // the report reflects events [0, at_events)
  uint64_t at_ns = 0;        // ... as of this time since the trace's start
  bool symbolic = true;
  std::vector<LeakGroup> groups;  // by alive count, descending
  uint64_t hidden_runtime = 0, hidden_young = 0, ignored = 0;
  uint64_t unlabeled = 0;          // hidden by --label: lacking one of the labels asked for
  std::vector<LabelFilter> label_filters;  // as asked for
  std::string group_by_label;      // the KEY of --group-by label:KEY, "" when by site
  // Events the recording's transport dropped (eBPF: its ring buffer was full); the goroutines
  // they were about have incomplete histories — a missing park, ready or exit.
  uint64_t lost_events = 0, lost_unattributed = 0;
  std::vector<uint64_t> incomplete_goids;  // ascending
  // A sampled trace (record --snapshot): the goroutine list was read every interval, so the
  // report is exact as of the last snapshot at or before its instant, and blind between two.
  uint64_t snapshots = 0;             // 0: the trace followed every event
  uint64_t snapshot_interval_ns = 0;
  uint64_t snapshot_at_ns = 0;        // the snapshot the report reflects, since the trace's start
  // A flight-recorder dump (record --ring): the trace is the recording's last window; what
  // was alive at its start is listed as preexisting, what happened before it is not known.
  bool window = false;
  uint64_t window_start_ns = 0;       // since the recording's start
  uint64_t window_dropped_events = 0; // recorded before the window, left out

  // Leak verdicts (record's heap scan at the report instant), when the trace has them and the
  // report is at the trace's end.
  bool has_verdicts = false;
  uint64_t verdict_scan_ns = 0, verdict_bytes = 0;

  uint64_t alive() const;
  // What `check --max-leaked` counts: with verdicts, the goroutines that can never wake; without,
  // every goroutine alive.
  uint64_t leaked() const;
  uint64_t alive_with(Verdict v) const;
  // Goroutines "growing and never woken"; the signal is off (false) for a sampled trace.
  bool has_history_signal = true;
  uint64_t never_woken() const;
};

// now_ns: the CLOCK_MONOTONIC time ages are measured at.
Result<LeakReport> build_report(const TraceReader& reader, const GoroutineTable& table,
                                const TraceSymbols& symbols, const ReportOptions& options, uint64_t now_ns);

// Terminal text: a summary line, then one block per group.
std::string format_report_text(const LeakReport& report);
nlohmann::json report_to_json(const LeakReport& report);
// JUnit XML for CI: one test case per group, failing when leaked > max_leaked.
std::string format_junit(const LeakReport& report, uint64_t max_leaked);

}  // namespace gorepro::replay
