// The Chrome trace-event JSON writer (Perfetto UI, chrome://tracing). docs/exports.md says
// why JSON rather than Perfetto's protobuf.
#pragma once

#include <cstdio>

#include "replay/trace_reader.h"
#include "replay/trace_symbols.h"
#include "util/result.h"

namespace gorepro::exporting {

// Events [0, end_seq) of reader: per go statement a process (pid, named by the statement and
// what it starts) holding a thread per goroutine (tid = goid) whose states are complete ("X")
// slices — "running", "runnable", "syscall", "waiting: <reason>" — and a "live goroutines"
// counter; schedtrace samples as counters of a "schedtrace" process (pid 1). A slice is written
// when its state ends (the end of the range ends every open one), so the file is written as
// the trace is read, never held.
Status write_perfetto(const replay::TraceReader& reader, const replay::TraceSymbols& symbols, uint64_t end_seq,
                      bool include_runtime, std::FILE* out);

}  // namespace gorepro::exporting
