#include "export/goroutine_stacks.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

namespace gorepro::exporting {

using replay::GoState;

GoroutineStacks collect_stacks(const replay::TraceReader& reader, const replay::GoroutineTable& table,
                               const replay::TraceSymbols& symbols, StackKind kind, bool include_runtime) {
  // Keyed by stack id (or the start PC of a stackless goroutine), not by symbolized frames:
  // hundreds of thousands of goroutines share a few hundred stacks.
  using Key = std::tuple<replay::StackId, uint64_t, std::string, GoState, uint32_t, uint32_t>;
  std::map<Key, StackGroup> groups;
  GoroutineStacks out;
  for (const auto& [goid, g] : table.goroutines()) {
    if (g.state == GoState::Dead) continue;
    SourceFrame site = symbols.creation_site(g.gopc);
    if (!include_runtime && symbols.is_runtime_goroutine(site, symbols.function_at(g.start_pc))) {
      ++out.hidden_runtime;
      continue;
    }
    const bool waiting = g.state == GoState::Waiting;
    const replay::StackId stack = kind == StackKind::Block ? (waiting ? g.block_stack : 0) : g.creation_stack;
    const uint64_t stackless_pc = stack == 0 ? g.start_pc : 0;
    auto [it, inserted] = groups.try_emplace(Key{stack, stackless_pc, replay::format_site(site), g.state,
                                                 waiting ? g.wait_reason : 0, g.labels});
    StackGroup& group = it->second;
    if (inserted) {
      group.labels = reader.labels(g.labels);
      group.go_statement = replay::format_site(site);
      group.state = std::string(replay::go_state_name(g.state));
      if (waiting) group.wait_reason = reader.header().wait_reason_name(g.wait_reason);
      if (stack != 0) {
        auto pcs = reader.stack(stack);
        group.pcs.assign(pcs.begin(), pcs.end());
        group.first_exact = kind == StackKind::Block;
      } else {
        if (g.start_pc) group.pcs = {g.start_pc};
        group.first_exact = true;
        if (kind == StackKind::Creation)
          group.no_stack = "[creation stack not recorded]";
        else
          group.no_stack = waiting ? fmt::format("[waiting: {}, no stack recorded]", group.wait_reason)
                                   : fmt::format("[{}]", group.state);
      }
    }
    ++group.goroutines;
    ++out.goroutines;
  }
  for (auto& [key, group] : groups) out.groups.push_back(std::move(group));
  std::stable_sort(out.groups.begin(), out.groups.end(),
                   [](const StackGroup& a, const StackGroup& b) { return a.goroutines > b.goroutines; });
  return out;
}

std::vector<SourceFrame> group_frames(const StackGroup& group, const replay::TraceSymbols& symbols) {
  std::vector<SourceFrame> frames;
  if (!group.no_stack.empty()) frames.push_back(SourceFrame{group.no_stack, "", 0, false});
  auto symbolized = symbols.frames(group.pcs, group.first_exact);
  frames.insert(frames.end(), symbolized.begin(), symbolized.end());
  return frames;
}

}  // namespace gorepro::exporting
