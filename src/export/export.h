// Exports: a trace written as the files tools Go engineers already use read.
//   pprof     a gzipped profile.proto goroutine profile as of a point of the trace (`go tool
//             pprof`, Pyroscope, Parca): one sample per distinct stack and labels, value =
//             goroutines, labels go_statement (file:line), state, wait_reason.
//   folded    the same goroutines as `frame;frame;... count` lines, root first (flamegraph.pl,
//             inferno, speedscope).
//   perfetto  Chrome trace-event JSON (Perfetto UI, chrome://tracing) of the trace up to the
//             point: a process per go statement, a thread per goroutine whose states are
//             complete slices, live goroutines per go statement and schedtrace samples as
//             counters. Written as it is computed: memory holds the live goroutines, never the
//             JSON.
//   html      one self-contained page (html_export.h): the leak report, live goroutines over
//             time per go statement with growth windows, flame graphs, goroutine timelines.
// The point is chosen like `report --at` (TraceSession); goroutines are the ones `report`
// shows (the runtime's own hidden unless include_runtime), so a folded file's counts sum to
// the report's live goroutines at the same point.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "util/result.h"

namespace gorepro::exporting {

enum class Format { Pprof, Folded, Perfetto, Html };
enum class StackKind { Block, Creation };

struct Options {
  Format format = Format::Folded;
  StackKind stack = StackKind::Block;  // pprof, folded
  std::string at;                      // "" = the end; else an event number or a time (report --at)
  bool include_runtime = false;
  std::string root_label;  // folded: KEY of a 'label:KEY=VALUE' root frame; "" = none
};

// Writes the export of trace_path to out. Warnings (truncated trace, raw PCs) are appended.
Result<Ok> export_trace(const std::string& trace_path, const Options& options, std::FILE* out,
                        std::vector<std::string>& warnings);

}  // namespace gorepro::exporting
