// `gorepro record --ring` (flight recorder) on ringchurn, a program that parks a known number
// of goroutines, churns goroutines steadily, then starts leaking at a moment it prints: the
// trace holds only about the last window, says where it starts (kind-12 window mark), lists the
// goroutines alive at its start as preexisting (the held ones: exactly the count the program
// printed), and `report` names the leak that started inside the window with its true creation
// site and count; `--ring SIZE` keeps the file under SIZE; SIGUSR1 writes the window to
// TRACE.1.gtr while the recording goes on.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "common/marks.h"
#include "replay/trace_session.h"
#include "support/background.h"
#include "support/backends.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::run;

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kChunkAge = 250'000'000;  // TraceWriter's age bound: a window is whole chunks

std::string scratch(const std::string& name) { return testing::scratch_file("ring", name); }

struct Lines {
  int hold = 0, leak = 0;
};
Lines marked_lines() {
  auto marks = testing::read_marked_lines(testing::go_source_dir("tests/go/ringchurn/main.go"));
  return {marks.at("hold"), marks.at("leak")};
}

// The number a line of the program's stdout says, e.g. "holding 37" -> 37; -1 if absent.
int printed(const std::string& out, const std::string& prefix) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(prefix + R"( (\d+))"))) return -1;
  return std::stoi(m[1].str());
}

bool only_newest(const std::string& v) {
  if (v != testing::newest_go_version()) return false;
  const char* only = std::getenv("GOREPRO_TEST_GO");
  return !only || !*only || v == only;
}

TEST(Ring, WindowHoldsTheLastSecondsTheLeakAndTheGoroutinesAliveAtItsStart) {
  const Lines lines = marked_lines();
  for (const std::string& v : testing::built_go_versions()) {
    for (const std::string& backend : testing::mechanics_backends(v)) {
      SCOPED_TRACE(fmt::format("go{} {}", v, backend));
      const std::string trace = scratch(fmt::format("window-{}-{}.gtr", v, backend));
      auto rec = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "--ring", "2s", "-o", trace,
                      "--", testing::go_program("ringchurn", v, false)});
      ASSERT_EQ(rec.exit_code, 0) << rec.err;
      ASSERT_NE(rec.out.find("done"), std::string::npos) << rec.out;
      const int held = printed(rec.out, "holding"), leaked = printed(rec.out, "leaking");
      ASSERT_GT(held, 0) << rec.out;
      ASSERT_GT(leaked, 0) << rec.out;
      EXPECT_NE(rec.err.find("flight recorder: the last"), std::string::npos) << rec.err;

      auto session = replay::TraceSession::open(trace);
      ASSERT_TRUE(session) << session.error().message();
      const replay::TraceReader& r = (*session)->reader();
      EXPECT_TRUE(r.warnings().empty()) << r.warnings().front();
      ASSERT_TRUE(r.window()) << "no window mark: " << rec.err;
      const replay::SnapshotMark& w = *r.window();
      EXPECT_EQ(w.window_ns, 2 * kSecond);
      EXPECT_GT(w.dropped_events, 0u) << "the recording was shorter than its window: " << rec.err;
      // About the last 2 s: whole chunks, so up to one chunk more or less.
      const uint64_t span = r.last_time_ns() - w.time_ns;
      EXPECT_GE(span, 2 * kSecond - kChunkAge - kChunkAge) << span;
      EXPECT_LE(span, 2 * kSecond + kChunkAge + kChunkAge / 2) << span;
      EXPECT_EQ(r.first_time_ns(), w.time_ns);

      // The goroutines alive at the window's start are the table's preexisting ones: the held
      // ones (created 2.5 s before the leak, so before the window) are all there, waiting.
      int held_found = 0;
      replay::Event e;
      for (auto cur = r.cursor(); cur.next(e);) {
        if (e.kind != replay::EventKind::Preexisting) continue;
        EXPECT_EQ(e.time_ns, w.time_ns);
        const SourceFrame site = (*session)->symbols().creation_site(e.pc);
        if (site.line == lines.hold && fs::path(site.file).filename() == "main.go") {
          held_found++;
          EXPECT_EQ(e.state, replay::GoState::Waiting);
          EXPECT_NE(e.stack, 0u) << "a waiting goroutine's block stack";
        }
      }
      EXPECT_EQ(held_found, held) << "goroutines of `go` at main.go:" << lines.hold << " alive at the window's start";

      std::vector<std::string> warnings;
      auto report = replay::report_trace(trace, "", {}, warnings);
      ASSERT_TRUE(report) << report.error().message();
      EXPECT_TRUE(report->window);
      // The leaking go statement's goroutines: one group, or one per leak verdict when the scan
      // at exit told some apart (a conservative scan can call a leaked one may_wake).
      const replay::LeakGroup* leak = nullptr;
      uint64_t alive = 0, preexisting = 0;
      for (const auto& g : report->groups) {
        if (g.creation_site.line != lines.leak || fs::path(g.creation_site.file).filename() != "main.go") continue;
        leak = &g;
        alive += g.alive;
        preexisting += g.preexisting;
        EXPECT_EQ(g.wait_reason, "chan receive");
      }
      ASSERT_NE(leak, nullptr) << replay::format_report_text(*report);
      EXPECT_EQ(alive, static_cast<uint64_t>(leaked)) << replay::format_report_text(*report);
      EXPECT_EQ(leak->created, static_cast<uint64_t>(leaked)) << "every leaked one was created inside the window";
      EXPECT_EQ(preexisting, 0u);
      std::fprintf(stderr, "go%s %s: window %.2f s, %llu events left out, %d held goroutines at its start, leak "
                   "%llu/%llu\n", v.c_str(), backend.c_str(), static_cast<double>(span) / 1e9,
                   static_cast<unsigned long long>(w.dropped_events), held_found,
                   static_cast<unsigned long long>(alive), static_cast<unsigned long long>(leak->created));
    }
  }
}

// The size bound is the writer's, the same for every Go version: the newest only (CI time).
TEST(Ring, SizeBoundKeepsTheFileUnderIt) {
  const std::string v = testing::newest_go_version();
  if (!only_newest(v)) GTEST_SKIP() << "runs on the newest toolchain only";
  const std::string trace = scratch("size.gtr");
  // As fast as it can for 3 s, 50 goroutines at a time: ~40 000 events (~340 KB) under ptrace on
  // a loaded 2-vCPU VM, so the smallest bound --ring takes (256KB) is the one a short test fills.
  auto rec = run({testing::gorepro_binary(), "record", "-q", "--ring", "256KB", "-o", trace, "--",
                  testing::go_program("ringchurn", v, false), "-rate", "0", "-batch", "50", "-churn", "3s",
                  "-tail", "300ms"});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  const uint64_t size = fs::file_size(trace);
  EXPECT_LE(size, 256u << 10);
  auto session = replay::TraceSession::open(trace);
  ASSERT_TRUE(session) << session.error().message();
  const replay::TraceReader& r = (*session)->reader();
  EXPECT_TRUE(r.has_end_marker());
  ASSERT_TRUE(r.window());
  EXPECT_EQ(r.window()->window_bytes, 256u << 10);
  EXPECT_GT(r.window()->dropped_events, 0u) << "the recording made less than the bound: " << rec.err;
  std::fprintf(stderr, "go%s --ring 256KB: %llu bytes, %llu events kept, %llu left out\n", v.c_str(),
               static_cast<unsigned long long>(size), static_cast<unsigned long long>(r.event_count()),
               static_cast<unsigned long long>(r.window()->dropped_events));
}

// SIGUSR1 is gorepro's, the same for every Go version: the newest only (CI time).
TEST(Ring, Sigusr1WritesTheWindowAndTheRecordingGoesOn) {
  const std::string v = testing::newest_go_version();
  if (!only_newest(v)) GTEST_SKIP() << "runs on the newest toolchain only";
  const Lines lines = marked_lines();
  const std::string trace = scratch("usr1.gtr"), dump = scratch("usr1.1.gtr");
  fs::remove(dump);
  testing::Background rec({testing::gorepro_binary(), "record", "-q", "--ring", "2s", "-o", trace, "--",
                           testing::go_program("ringchurn", v, false), "-churn", "2s"});
  for (std::string line; (line = rec.read_line()).find("churning") == std::string::npos;) {
    ASSERT_FALSE(line.empty()) << "ringchurn ended before churning";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_EQ(kill(rec.pid(), SIGUSR1), 0);
  std::string out;
  ASSERT_EQ(rec.wait(&out), 0) << out;
  ASSERT_NE(out.find("done"), std::string::npos) << out;

  auto dumped = replay::TraceSession::open(dump);
  ASSERT_TRUE(dumped) << dumped.error().message();
  auto final = replay::TraceSession::open(trace);
  ASSERT_TRUE(final) << final.error().message();
  const replay::TraceReader& d = (*dumped)->reader();
  const replay::TraceReader& f = (*final)->reader();
  EXPECT_TRUE(d.has_end_marker());
  ASSERT_TRUE(d.window());
  EXPECT_GT(d.event_count(), 0u);
  // Taken during the churn, before the leak: the recording went on past it to the leak.
  EXPECT_GT(f.last_time_ns(), d.last_time_ns() + kSecond);
  std::vector<std::string> warnings;
  auto leaks_at = [&](const std::string& path) {
    auto report = replay::report_trace(path, "", {}, warnings);
    EXPECT_TRUE(report) << report.error().message();
    uint64_t n = 0;
    if (report) {
      for (const auto& g : report->groups)
        if (g.creation_site.line == lines.leak) n += g.alive;
    }
    return n;
  };
  EXPECT_EQ(leaks_at(dump), 0u);
  EXPECT_EQ(leaks_at(trace), static_cast<uint64_t>(printed(out, "leaking")));
}

TEST(Ring, ABadWindowIsAUsageError) {
  for (const char* bad : {"5x", "10KB", "100ms"}) {
    auto r = run({testing::gorepro_binary(), "record", "--ring", bad, "--",
                  testing::go_program("ringchurn", testing::newest_go_version(), false)});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--ring"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace gorepro
