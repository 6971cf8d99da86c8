// `gorepro record --until CONDITION` on a program whose goroutine count crosses a threshold at
// a known go statement (triggertarget's `// mark: cross`): the recording ends within one
// status interval (kTriggerCheckNs + kPollLatenessNs, 100 ms) of the event that made the
// condition true — both instants on the trace's clock: the crossing is found in the trace by
// this test (the Create event of the N+1th goroutine of that line), the firing is what gorepro
// says. On ptrace (every version) and ebpf (newest version, when it can run here).
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "common/marks.h"
#include "replay/trace_session.h"
#include "support/backends.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"
#include "tracer/recorder.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::run;

constexpr uint64_t kInterval = tracer::kTriggerCheckNs + tracer::kPollLatenessNs;

// Trace time (ns since its start) of the Create event that brings the go statement at
// file:line to `alive` goroutines alive; nullopt when it never does.
std::optional<uint64_t> crossing_ns(const std::string& trace, const std::string& file, int line, int alive) {
  auto session = replay::TraceSession::open(trace);
  if (!session) {
    ADD_FAILURE() << session.error().message();
    return std::nullopt;
  }
  const replay::TraceReader& r = (*session)->reader();
  const replay::TraceSymbols& sym = (*session)->symbols();
  EXPECT_TRUE(sym.symbolic()) << "the binary's symbols are needed to find the go statement";
  std::unordered_map<uint64_t, bool> at_line;  // gopc -> is the marked go statement
  std::unordered_set<uint64_t> ours;           // goids created there
  int n = 0;
  replay::Event e;
  for (auto cur = r.cursor(); cur.next(e);) {
    if (e.kind == replay::EventKind::Create) {
      auto [it, fresh] = at_line.try_emplace(e.pc, false);
      if (fresh) {
        auto site = sym.creation_site(e.pc);
        it->second = site.line == line && fs::path(site.file).filename() == file;
      }
      if (it->second) {
        ours.insert(e.goid);
        if (++n == alive) return e.time_ns - r.start_time_ns();
      }
    } else if (e.kind == replay::EventKind::Exit && ours.erase(e.goid)) {
      n--;
    }
  }
  return std::nullopt;
}

// "held at 1.234567s into the recording" in gorepro's stderr, in ns.
std::optional<uint64_t> fired_ns(const std::string& err) {
  std::smatch m;
  if (!std::regex_search(err, m, std::regex(R"(held at (\d+\.\d+)s into the recording)"))) return std::nullopt;
  return static_cast<uint64_t>(std::stod(m[1].str()) * 1e9);
}

TEST(RecordUntil, EndsWithinOneStatusIntervalOfTheCrossingOnEveryBackend) {
  const std::string src = testing::go_source_dir("tests/go/triggertarget/main.go");
  const int line = testing::read_marked_lines(src).at("cross");
  struct Cond {
    const char* name;
    std::string text;
    int alive;           // the marked line's alive count at which it first holds
    const char* during;  // what follows the crossing
  };
  // Creations go on after the first crossing; the second is the last creation, then silence.
  const std::vector<Cond> conds = {
      {"busy", fmt::format("site=main.go:{} alive>200", line), 201, "creations every 2 ms"},
      {"quiet", fmt::format("live>=20 and site=main.go:{} alive>=300", line), 300, "silence"},
  };
  for (const std::string& v : testing::built_go_versions()) {
    for (const std::string& backend : testing::mechanics_backends(v)) {
      for (const Cond& c : conds) {
        SCOPED_TRACE(fmt::format("go{} {} {}: {}", v, backend, c.name, c.text));
        const std::string trace = testing::scratch_file("until", fmt::format("{}-{}-{}.gtr", v, backend, c.name));
        auto rec = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace, "--until",
                        c.text, "--", testing::go_program("triggertarget", v, false)});
        if (backend == "ebpf" && rec.exit_code == 1 && rec.err.find("run with --backend=ptrace") != std::string::npos) {
          // The kernel refused what the backend needs (e.g. no tracefs for its exec tracepoint).
          std::fprintf(stderr, "go%s ebpf %s: not run, the ebpf backend cannot start here: %s", v.c_str(), c.name,
                       rec.err.c_str());
          continue;
        }
        // Launched: detached at the trigger, the program runs on and its status is gorepro's.
        ASSERT_EQ(rec.exit_code, 0) << rec.err;
        EXPECT_NE(rec.out.find("triggertarget: done"), std::string::npos) << rec.out;
        auto fired = fired_ns(rec.err);
        ASSERT_TRUE(fired) << "gorepro did not say when the condition held: " << rec.err;
        auto crossed = crossing_ns(trace, "main.go", line, c.alive);
        ASSERT_TRUE(crossed) << "the trace ends before the crossing: " << rec.err;
        EXPECT_GE(*fired, *crossed) << "fired before the condition held";
        EXPECT_LE(*fired - std::min(*fired, *crossed), kInterval)
            << fmt::format("fired {:.1f} ms after the crossing ({})", static_cast<double>(*fired - *crossed) / 1e6,
                           c.during);
        std::fprintf(stderr, "go%s %s %s: fired %.1f ms after the crossing\n", v.c_str(), backend.c_str(), c.name,
                     static_cast<double>(*fired - *crossed) / 1e6);
      }
    }
  }
}

TEST(RecordUntil, ABadConditionIsAUsageErrorBeforeAnythingRuns) {
  auto r = run({testing::gorepro_binary(), "record", "--until", "live>>5", "--",
                testing::go_program("triggertarget", testing::newest_go_version(), false)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'>' at column 6"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace gorepro
