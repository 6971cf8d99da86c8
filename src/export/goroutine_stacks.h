// GoroutineStacks: the goroutines alive at one point of a trace grouped by what a stack
// profile tells apart — their stack (block or creation), go statement, state and wait reason
// — with how many goroutines each group holds. What `export --format pprof` and `folded`
// write; which goroutines count is `report`'s choice (build_report), so the totals agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "export/export.h"
#include "replay/goroutine_table.h"
#include "replay/trace_reader.h"
#include "replay/trace_symbols.h"

namespace gorepro::exporting {

struct StackGroup {
  // Leaf first. A block stack's first PC is where the goroutine parked (exact); every other
  // PC is a return address.
  std::vector<uint64_t> pcs;
  bool first_exact = false;
  // Set when the goroutine has no such stack in the trace (a block stack exists only while
  // waiting; a goroutine alive at attach has no creation stack): a pseudo-frame naming why,
  // e.g. "[running]", as the leaf above its start function (pcs = {start_pc}, exact).
  std::string no_stack;
  std::string go_statement;  // file:line of the go statement ("?" when unknown)
  std::string state;         // running, runnable, waiting, syscall, unknown
  std::string wait_reason;   // "" unless waiting
  replay::Labels labels;     // the goroutines' own pprof labels
  uint64_t goroutines = 0;
};

struct GoroutineStacks {
  std::vector<StackGroup> groups;  // by goroutines, descending
  uint64_t goroutines = 0;         // sum over groups
  uint64_t hidden_runtime = 0;
};

GoroutineStacks collect_stacks(const replay::TraceReader& reader, const replay::GoroutineTable& table,
                               const replay::TraceSymbols& symbols, StackKind kind, bool include_runtime);

// The frames of group's stack, leaf first, inlined frames expanded (pseudo-frame included).
std::vector<SourceFrame> group_frames(const StackGroup& group, const replay::TraceSymbols& symbols);

}  // namespace gorepro::exporting
