// The pprof and folded writers over a GoroutineStacks snapshot.
#pragma once

#include <cstdio>

#include "export/goroutine_stacks.h"
#include "util/result.h"

namespace gorepro::exporting {

// at_ns: the monotonic time of the point; at_events: events applied up to it.
Status write_pprof(const replay::TraceReader& reader, const replay::TraceSymbols& symbols, const GoroutineStacks& stacks,
                   uint64_t at_ns, uint64_t at_events, std::FILE* out);

// One "root;...;leaf count" line per distinct stack of function names (groups differing only
// in labels are merged), most goroutines first.
// root_label: KEY of a pprof label whose value becomes a root frame 'label:KEY=VALUE' (or
// 'label:(no KEY)'); "" for none.
Status write_folded(const replay::TraceSymbols& symbols, const GoroutineStacks& stacks, std::FILE* out,
                    const std::string& root_label = "");

}  // namespace gorepro::exporting
