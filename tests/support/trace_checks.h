// Checks every trace the tracer writes must pass, whatever the program: each is a way a lost,
// duplicated or misattributed event shows. Returned as one line per violation ("" for none),
// capped, so `EXPECT_EQ(trace_violations(r), "")` prints what went wrong.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "replay/trace_reader.h"

namespace gorepro::testing {

inline std::string trace_violations(const replay::TraceReader& reader, size_t max = 20) {
  using replay::EventKind;
  std::vector<std::string> out;
  struct Last {
    EventKind kind;
    uint64_t seq;
  };
  std::unordered_map<uint64_t, Last> last;  // goid -> its latest event
  size_t total = 0;
  auto report = [&](std::string line) {
    if (++total <= max) out.push_back(std::move(line));
  };
  replay::Event e;
  for (auto cur = reader.cursor(); cur.next(e);) {
    if (e.kind == EventKind::Sched || e.goid == 0) continue;
    auto it = last.find(e.goid);
    if (it != last.end() && it->second.kind == EventKind::Exit) {
      report(fmt::format("event {} ({}) is about goroutine {}, which exited at event {}", e.seq,
                         replay::event_kind_name(e.kind), e.goid, it->second.seq));
    }
    // A goroutine parks only while running: something woke it after its previous park.
    if (e.kind == EventKind::Park && it != last.end() && it->second.kind == EventKind::Park) {
      report(fmt::format("goroutine {} parks at event {} and again at event {} with no wake between", e.goid,
                         it->second.seq, e.seq));
    }
    if ((e.kind == EventKind::Create || e.kind == EventKind::Preexisting) && it != last.end()) {
      report(fmt::format("goroutine {} is created at event {} but already had event {}", e.goid, e.seq,
                         it->second.seq));
    }
    last[e.goid] = {e.kind, e.seq};
  }
  if (total > max) out.push_back(fmt::format("... {} violations in all", total));
  return fmt::format("{}", fmt::join(out, "\n"));
}

}  // namespace gorepro::testing
