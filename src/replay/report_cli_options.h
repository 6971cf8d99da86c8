// Options `gorepro report` and `gorepro check` share, registered the same way on both.
// Header-only and included only by src/cli/cmd_{report,check}.cpp (which link CLI11); it lives
// here because src/replay owns those commands — it can move to src/cli.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "replay/duration.h"
#include "replay/leak_report.h"

namespace gorepro::cli {

struct TraceReportArgs {
  std::string trace;
  std::string at;
  std::string min_age;
  replay::ReportOptions report;

  void add_to(CLI::App& cmd) {
    cmd.add_option("trace", trace, "Trace file written by 'gorepro record'")->required();
    cmd.add_option("--at", at, "Look at the trace after event N (--at 1234) or at a time since its start (--at 1.5s)");
    cmd.add_option("--min-age", min_age, "Hide goroutines in their current state for less than this (e.g. 500ms)");
    cmd.add_flag("--all", report.include_runtime, "Also show the runtime's own goroutines");
    cmd.add_option("--max-ids", report.max_ids, "Goroutine ids listed per group")->capture_default_str();
  }
  // Converts the strings CLI11 cannot check by itself; false after printing a usage error.
  bool finish() {
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
