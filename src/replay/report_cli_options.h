// Options `gorepro report` and `gorepro check` share, registered the same way on both.
// Header-only and included only by src/cli/cmd_{report,check}.cpp (which link CLI11); it lives
// here because src/replay owns those commands — it can move to src/cli.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "replay/duration.h"
#include "replay/leak_report.h"
#include "replay/trace_session.h"

namespace gorepro::cli {

struct TraceReportArgs {
  std::string trace;
  std::string at;
  std::string min_age;
  std::string verdict = "all";
  std::vector<std::string> labels;
  replay::ReportOptions report;

  void add_to(CLI::App& cmd) {
    cmd.add_option("trace", trace, "Trace file written by 'gorepro record'")->required();
    cmd.add_option("--at", at, "Look at the trace after event N (--at 1234) or at a time since its start (--at 1.5s)");
    cmd.add_option("--min-age", min_age, "Hide goroutines in their current state for less than this (e.g. 500ms)");
    cmd.add_flag("--all", report.include_runtime, "Also show the runtime's own goroutines");
    cmd.add_option("--max-ids", report.max_ids, "Goroutine ids listed per group")->capture_default_str();
    cmd.add_option("--verdict", verdict,
                   "With leak verdicts in the trace (record's heap scan): 'leaked' shows only the goroutines that "
                   "can never wake; 'all' shows them first, then one line per group that waits on time/I/O or "
                   "may still wake")
        ->check(CLI::IsMember({"leaked", "all"}))
        ->capture_default_str();
    cmd.add_option("--label", labels,
                   "Only goroutines with this pprof label, KEY=VALUE (repeatable: all must hold)")
        ->type_name("KEY=VALUE");
  }
  // Builds the report the options ask for, printing warnings; on failure prints the error and
  // sets exit_code to 2.
  std::optional<replay::LeakReport> run(int& exit_code) {
    if (!finish()) {
      exit_code = 2;
      return std::nullopt;
    }
    std::vector<std::string> warnings;
    auto r = replay::report_trace(trace, at, report, warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "gorepro: warning: %s\n", w.c_str());
    if (!r) {
      std::fprintf(stderr, "gorepro: %s\n", r.error().message().c_str());
      exit_code = 2;
      return std::nullopt;
    }
    return std::move(*r);
  }

 private:
  // Converts the strings CLI11 cannot check by itself; false after printing a usage error.
  bool finish() {
    if (verdict == "leaked") report.only_verdict = replay::Verdict::kLeaked;
    for (const std::string& text : labels) {
      auto f = replay::parse_label_filter(text);
      if (!f) {
        std::fprintf(stderr, "gorepro: cannot read --label '%s' — give KEY=VALUE, e.g. --label handler=checkout\n",
                     text.c_str());
        return false;
      }
      report.label_filters.push_back(*f);
    }
    if (min_age.empty()) return true;
    auto ns = replay::parse_duration(min_age);
    if (!ns) {
      std::fprintf(stderr, "gorepro: cannot read --min-age '%s' — give a duration such as 500ms, 2s or 1m\n",
                   min_age.c_str());
      return false;
    }
    report.min_age_ns = *ns;
    return true;
  }
};

}  // namespace gorepro::cli
