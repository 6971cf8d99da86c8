// Traces of a program that parks and exits under constant preemption requests (tests/go/
// preemptpark) must still be consistent histories: every park and exit seen once, every goroutine
// its go statements started seen exiting exactly once. A preemption request poisons the stack
// bound, so gopark's and goexit1's prologues jump to morestack and the functions run again from
// their entries later — a probe counting entries reported such parks twice. Default probes and
// --probe-states, every Go version, plain and stripped, every backend (ebpf tells the jump to
// morestack apart by the flags at its uprobe).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dwarf/go_binary.h"
#include "replay/trace_reader.h"
#include "support/backends.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"
#include "support/trace_checks.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;

std::string temp_trace(const std::string& name) { return testing::scratch_file("consistency", name + ".gtr"); }

TEST(Consistency, ParksAndExitsUnderPreemptionAreSeenOnce) {
  for (const auto& backend : testing::recording_backends()) {
    for (const auto& v : testing::built_go_versions()) {
      for (bool stripped : {false, true}) {
        // A stripped binary changes where the layout comes from, the same for every backend.
        if (stripped && backend != "ptrace") continue;
        for (bool states : {false, true}) {
          SCOPED_TRACE(fmt::format("{}{}{} {}", v, stripped ? " stripped" : "", states ? " --probe-states" : "", backend));
          const std::string binary = testing::go_program("preemptpark", v, stripped);
          const std::string trace = temp_trace(fmt::format("pp-{}-{}-{}-{}", v, stripped, states, backend));
          std::vector<std::string> argv = {testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace};
          if (states) argv.push_back("--probe-states");
          argv.insert(argv.end(), {"--", binary, "-duration", "400ms"});
          auto rec = testing::run(argv);
          ASSERT_EQ(rec.exit_code, 0) << rec.err;
          std::smatch m;
          ASSERT_TRUE(std::regex_search(rec.out, m, std::regex(R"(preemptpark goroutines (\d+))"))) << rec.out;
          const int started = std::stoi(m[1]);
          EXPECT_EQ(rec.err.find("breakpoint lifted"), std::string::npos) << rec.err;

          auto reader = replay::TraceReader::open(trace);
          ASSERT_TRUE(reader) << reader.error().message();
          EXPECT_EQ(testing::trace_violations(**reader), "");

          // Every goroutine main's go statements started: one create, one exit.
          auto bin = GoBinary::open(binary);
          ASSERT_TRUE(bin);
          std::set<uint64_t> created, exited, ran;
          size_t parks = 0, exits = 0, syscalls = 0;
          replay::Event e;
          for (auto cur = (*reader)->cursor(); cur.next(e);) {
            if (e.kind == replay::EventKind::Create) {
              auto frames = (*bin)->symbolizer().frames(e.pc - 1);
              if (!frames.empty() && frames[0].function.rfind("main.", 0) == 0) created.insert(e.goid);
            } else if (e.kind == replay::EventKind::Exit && created.count(e.goid)) {
              exited.insert(e.goid);
              exits++;
            } else if (e.kind == replay::EventKind::Park && created.count(e.goid)) {
              parks++;
            } else if (e.kind == replay::EventKind::State) {
              if (e.state == replay::GoState::Running && created.count(e.goid)) ran.insert(e.goid);
              if (e.state == replay::GoState::Syscall && e.goid == 1) syscalls++;
            }
          }
          EXPECT_EQ(created.size(), static_cast<size_t>(started));
          EXPECT_EQ(exited, created);
          EXPECT_EQ(exits, created.size());
          EXPECT_GT(parks, created.size());  // the hand-offs did park
          if (states) {
            EXPECT_EQ(ran, created);   // every goroutine was seen put on a CPU
            EXPECT_GE(syscalls, 1u);   // main's final Printf is a write system call
          }
        }
      }
    }
  }
}

// A park whose commit fails (netpollblockcommit: the pipe became readable between the park's
// start and its commit) is undone in park_m, which runs the goroutine again without ready. With
// the default probes the unpark probe (before park_m's call to execute) must record that run, or
// the goroutine's next park follows a park with no wake. pollpingpong hits this path every few
// hundred round trips under the tracer (1 to 156 per run seen); it must be seen at least once
// over all versions, recorded again (up to 9 more rounds) until it is. Under ebpf the program
// runs at full speed and the window is rarer (none in 4 rounds of one version was seen once).
TEST(Consistency, AParkWhoseCommitFailsIsSeenRunningAgain) {
  for (const auto& backend : testing::recording_backends()) {
    size_t undone = 0;
    for (int round = 0; round < 10 && undone == 0; round++) {
      for (const auto& v : testing::built_go_versions()) {
        for (bool states : {false, true}) {
          if (states && round > 0) continue;
          SCOPED_TRACE(fmt::format("{}{} round {} {}", v, states ? " --probe-states" : "", round, backend));
          const std::string trace = temp_trace(fmt::format("poll-{}-{}-{}", v, states, backend));
          std::vector<std::string> argv = {testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace};
          if (states) argv.push_back("--probe-states");
          argv.insert(argv.end(), {"--", testing::go_program("pollpingpong", v, false)});
          auto rec = testing::run(argv);
          ASSERT_EQ(rec.exit_code, 0) << rec.err;
          ASSERT_NE(rec.out.find("pollpingpong round trips"), std::string::npos) << rec.out;
          auto reader = replay::TraceReader::open(trace);
          ASSERT_TRUE(reader) << reader.error().message();
          EXPECT_EQ(testing::trace_violations(**reader), "");
          if (states) continue;
          std::unordered_map<uint64_t, replay::Event> last;
          replay::Event e;
          for (auto cur = (*reader)->cursor(); cur.next(e);) {
            if (e.goid == 0 || e.kind == replay::EventKind::Sched) continue;
            auto it = last.find(e.goid);
            undone += e.kind == replay::EventKind::State && e.state == replay::GoState::Running && it != last.end() &&
                      it->second.kind == replay::EventKind::Park &&
                      (*reader)->header().wait_reason_name(it->second.wait_reason) == "IO wait";
            last[e.goid] = e;
          }
        }
      }
    }
    // Under ptrace the window is hit every run; under ebpf the program runs at full speed and, on
    // a quiet machine, 10 rounds of one version can miss it (seen on go1.27): there, each round's
    // traces are still held to the invariants above, and how often the path was hit is printed.
    if (backend == "ebpf") {
      std::fprintf(stderr, "ebpf: %zu failed park commits seen\n", undone);
      continue;
    }
    EXPECT_GE(undone, 1u) << backend << ": no failed park commit was seen in 10 rounds: the test did not exercise the path";
  }
}

// Go 1.23 coroutines (iter.Pull) bypass gopark, ready and goexit1: a coroutine's goroutine is
// created parked, coroswitch hands the CPU from one goroutine to another directly, and an
// ending coroutine is freed inside coroswitch. coroleak runs 40 pulls to their end, stops 40
// early and leaks 7: the report must show exactly the 7 as the program's, waiting in
// "coroutine" inside the iterator's yield, and the trace must be a consistent history (the
// runtime's own dumps are held against it in schedtrace_e2e_test, which runs alone).
TEST(Consistency, CoroutinesAreCreatedParkedSwitchAndEnd) {
  // The iterator's `if !yield(i)` line, from the source.
  const std::string yield_file = testing::go_source_dir("tests/go/coroleak") + "/coro.go";
  int yield_line = 0;
  {
    std::ifstream in(yield_file);
    std::string line;
    for (int n = 1; std::getline(in, line); n++) {
      if (line.find("if !yield(i)") != std::string::npos) yield_line = n;
    }
  }
  ASSERT_GT(yield_line, 0) << yield_file;
  bool any = false;
  for (const auto& v : testing::built_go_versions()) {
    if (std::stoi(v.substr(v.find('.') + 1)) < 23) continue;  // iter.Pull is new in Go 1.23
    any = true;
    for (const auto& backend : testing::recording_backends()) {
      for (bool stripped : {false, true}) {
        if (stripped && backend != "ptrace") continue;  // as above
        SCOPED_TRACE(fmt::format("{}{} {}", v, stripped ? " stripped" : "", backend));
        const std::string trace = temp_trace(fmt::format("coro-{}-{}-{}", v, stripped, backend));
        auto rec = testing::run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace, "--",
                                 testing::go_program("coroleak", v, stripped), "-full", "40", "-early", "40", "-leak", "7"});
        ASSERT_EQ(rec.exit_code, 0) << rec.err;
        ASSERT_NE(rec.out.find("coroleak leaked 7"), std::string::npos) << rec.out;
        auto reader = replay::TraceReader::open(trace);
        ASSERT_TRUE(reader) << reader.error().message();
        EXPECT_EQ(testing::trace_violations(**reader), "");

        auto rep = testing::run({testing::gorepro_binary(), "report", trace, "--format", "json"});
        ASSERT_EQ(rep.exit_code, 0) << rep.err;
        auto report = nlohmann::json::parse(rep.out);
        int alive = 0, created = 0;
        for (const auto& g : report["groups"]) {
          if (g["start_function"] != "runtime.corostart") continue;
          alive += g["alive"].get<int>(), created += g["created"].get<int>();
          EXPECT_EQ(g["wait_reason"], "coroutine") << g.dump();
          bool in_iterator = false;
          for (const auto& f : g["block_stack"]) in_iterator |= f["file"] == yield_file && f["line"] == yield_line;
          EXPECT_TRUE(in_iterator) << "blocked in the iterator's yield, " << yield_file << ":" << yield_line << ": "
                                   << g["block_stack"].dump();
          // ... which is the group's block site: not the runtime's or package iter's frames.
          EXPECT_EQ(g["block_site"]["file"], yield_file) << g["block_site"].dump();
          EXPECT_EQ(g["block_site"]["line"], yield_line) << g["block_site"].dump();
        }
        EXPECT_EQ(alive, 7) << rep.out;
        EXPECT_EQ(created, 87) << rep.out;
      }
    }
  }
  if (!any) GTEST_SKIP() << "no Go 1.23 toolchain built";
}

}  // namespace
}  // namespace gorepro
