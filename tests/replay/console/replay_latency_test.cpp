// How long moving around a large trace takes: every `goto`, `prev` and search must answer in
// well under a second on a 10 M-event trace (checkpoints + chunk-wise backward search). Runs on
// 1 M events by default; GOREPRO_REPLAY_LATENCY_EVENTS=10000000 measures the 10 M case and
// prints the timings (docs/replay.md quotes them).
#include <chrono>
#include <cstdlib>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "console_scenario.h"

namespace gorepro::replay {
namespace {

using namespace testing;
using Clock = std::chrono::steady_clock;

// Churn like bench/replay: goroutines from 16 go statements park once, are woken and exit;
// 1 in 200 leaks.
std::string write_churn(uint64_t target) {
  return write_trace("churn.gtr", [&](TraceWriter& w) {
    std::mt19937_64 rng(1);
    std::vector<uint64_t> live;
    uint64_t t = 1'000'001'000, next = 100;
    StackId block = w.intern_stack(std::vector<uint64_t>{ConsoleScenario::kGopark, ConsoleScenario::kSendRet});
    while (w.events_written() < target) {
      t += 50 + rng() % 500;
      uint32_t tid = 4000 + static_cast<uint32_t>(rng() % 4);
      if (live.size() < 32 && (rng() % 4 != 0 || live.empty())) {
        uint64_t site = rng() % 16, g = next++;
        must(w.append(Event::create(t, tid, 1, g, 0x4a1005 + site * 0x40, 0x4b0000 + site * 0x80, 0)));
        must(w.append(Event::park(t + 20, tid, g, kChanSend, 0, block)));
        if (rng() % 200 != 0) live.push_back(g);
      } else {
        size_t i = rng() % live.size();
        uint64_t g = live[i];
        live[i] = live.back();
        live.pop_back();
        must(w.append(Event::ready(t, tid, g, 1)));
        must(w.append(Event::exit(t + 30, tid, g)));
      }
    }
  });
}

TEST(ReplayLatency, MovesAnywhereInALargeTraceWellUnderASecond) {
  const char* env = std::getenv("GOREPRO_REPLAY_LATENCY_EVENTS");
  const uint64_t events = env ? std::stoull(env) : 1'000'000;
  std::string path = write_churn(events);
  // Checkpoints as `gorepro replay` takes them (TraceSession uses the Replayer defaults).
  ConsoleHarness h(path, false, false, Replayer::Options{}.checkpoint_interval);
  const uint64_t n = h.reader->event_count();
  double worst = 0;
  auto timed = [&](const std::string& cmd) {
    auto t0 = Clock::now();
    h.run(cmd);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    fmt::print("  {:<32} {:8.1f} ms\n", cmd, s * 1e3);
    return s;
  };
  fmt::print("{} events:\n", n);
  timed(fmt::format("goto {}", n - 1));  // the first pass, which lays the checkpoints
  for (uint64_t at : {n / 2, n / 10, n - 2, 7 * n / 9, uint64_t{3}, n / 3})
    worst = std::max(worst, timed(fmt::format("goto {}", at)));
  worst = std::max(worst, timed("prev 1000"));
  worst = std::max(worst, timed("prev create ^0x4a1005$"));
  worst = std::max(worst, timed("next exit"));
  worst = std::max(worst, timed("sites"));
#ifdef __SANITIZE_ADDRESS__
  const double bound = 5.0;  // ASan+UBSan run the same code several times slower
#else
  const double bound = 1.0;
#endif
  EXPECT_LT(worst, bound) << "seconds, after the first pass";
}

}  // namespace
}  // namespace gorepro::replay
