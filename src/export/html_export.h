// The HTML report: one self-contained file (scripts, styles and data inlined; a
// Content-Security-Policy forbids every network load) a user can attach to a bug report.
// What it holds, all computed here from one replay of the trace up to the point:
//   - the leak report exactly as `report --format json` gives it (build_report, report_to_json);
//   - live goroutines over time per `go` statement of the program (TraceFacts' per-site counts,
//     sampled at the end of each of up to kChartPoints equal time buckets — a 1 M-event trace
//     charts in a few thousand points), the growth windows over their sum (find_growth, the
//     analysis `correlate` runs), and the schedtrace samples' gcount when the trace has them;
//   - the live goroutines' block and creation stacks as flame-graph trees (collect_stacks, what
//     `export --format folded` writes), root value = the goroutines `report` shows;
//   - the state changes of a few goroutines of each report group (their timelines).
// Drawn in the browser by web/src/app.js with the libraries html_assets.h embeds.
#pragma once

#include <cstdint>
#include <cstdio>

#include "replay/trace_session.h"
#include "util/result.h"

namespace gorepro::exporting {

inline constexpr size_t kChartPoints = 2000;

// The session replayed to the point; now_ns: its time (TraceSession::replay_to).
Status write_html(replay::TraceSession& session, uint64_t now_ns, bool include_runtime, std::FILE* out);

}  // namespace gorepro::exporting
