// SiteCounts: per `go` statement, how many goroutines a trace has created there and how many
// are alive, as of one point of a replay. Sites are keyed by what survives a rebuild — function,
// file name and line of the go statement — not by PC or by the file's directory, so counts from
// two builds of a program line up (`gorepro diff`) even when they were built in different
// directories or with -trimpath; without symbols the key degrades to the raw PC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dwarf/symbolizer.h"
#include "replay/goroutine_table.h"
#include "replay/trace_symbols.h"

namespace gorepro::replay {

struct SiteCount {
  SourceFrame site;            // the go statement
  std::string start_function;  // what it starts (the smallest name if several)
  uint64_t created = 0;        // ever, up to the point (incl. preexisting)
  uint64_t alive = 0;          // at the point
};

struct SiteCounts {
  std::vector<SiteCount> sites;  // by alive, then created (descending), then site
  uint64_t hidden_runtime = 0;   // sites hidden because the runtime starts them
};

// include_runtime: also the runtime's own goroutines (hidden like `report` does otherwise).
SiteCounts count_sites(const GoroutineTable& table, const TraceSymbols& symbols, bool include_runtime);

// "function file:line" with the file's base name only — the identity two traces' sites are
// matched by. The directory says where the program was built (a checkout, a CI workspace,
// nothing with -trimpath), not which go statement this is; the function name carries the
// package path, and a package cannot define one function in two files.
std::string site_identity(const SourceFrame& site);

}  // namespace gorepro::replay
