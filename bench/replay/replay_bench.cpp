// replay_bench: throughput of the trace pipeline over a synthetic churn workload — write,
// open (validating decode), cursor decode, replay to the end, and a full report — plus bytes
// per event with and without zstd. Not a test: run it by hand.
// Usage: replay_bench [EVENTS (default 10000000)] [DIR (default /tmp)]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>

#include "replay/leak_report.h"
#include "replay/replayer.h"
#include "replay/trace_reader.h"
#include "replay/trace_writer.h"

using namespace gorepro::replay;
using Clock = std::chrono::steady_clock;

namespace {

// Wall and CPU time of this (single) thread: the machine is shared, so CPU time is the number
// that says what the code costs; wall time says what a user waited.
struct Stopwatch {
  Clock::time_point wall = Clock::now();
  double cpu = thread_cpu();
  static double thread_cpu() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
  }
  double wall_s() const { return std::chrono::duration<double>(Clock::now() - wall).count(); }
  double cpu_s() const { return thread_cpu() - cpu; }
};

void line(const std::string& what, uint64_t events, const Stopwatch& w) {
  double cpu = w.cpu_s(), wall = w.wall_s();
  fmt::print("{:<28} cpu {:>7.3f} s ({:>6.1f} M events/s)  wall {:>7.3f} s\n", what, cpu, events / cpu / 1e6, wall);
}

// Spawners create goroutines from 16 go statements; each blocks once on its own channel, is
// woken and exits, except 1 in 200 which leaks.
uint64_t write_churn(const std::string& path, uint64_t target_events, int zstd_level) {
  TraceHeader h;
  h.binary_path = "/nonexistent/churn";
  h.go_version = "go1.22.12";
  h.backend = "bench";
  h.clock.monotonic_ns = 1'000'000'000;
  h.wait_reasons = {"", "chan receive", "chan send"};
  TraceWriterOptions o;
  o.zstd_level = zstd_level;
  auto w = TraceWriter::create(path, h, o);
  if (!w) {
    fmt::print(stderr, "{}\n", w.error().message());
    std::exit(2);
  }
  TraceWriter& tw = **w;
  std::mt19937_64 rng(1);
  std::vector<StackId> cstacks, bstacks;
  for (uint64_t i = 0; i < 16; ++i) {
    std::vector<uint64_t> c = {0x4a1005 + i * 0x40, 0x4a2000 + i * 0x100, 0x43c000};
    std::vector<uint64_t> b = {0x43a0a0, 0x40b000 + i * 0x30, 0x4b1800 + i * 0x40, 0x43c010};
    cstacks.push_back(tw.intern_stack(c));
    bstacks.push_back(tw.intern_stack(b));
  }
  uint64_t t = 1'000'001'000, next = 100;
  std::vector<uint64_t> live;
  auto check = [](gorepro::Status s) {
    if (!s) {
      fmt::print(stderr, "{}\n", s.error().message());
      std::exit(2);
    }
  };
  while (tw.events_written() < target_events) {
    t += 50 + rng() % 500;
    uint32_t tid = 4000 + static_cast<uint32_t>(rng() % 4);
    if (live.size() < 32 && (rng() % 4 != 0 || live.empty())) {
      uint64_t site = rng() % 16, g = next++;
      check(tw.append(Event::create(t, tid, 1 + rng() % 4, g, 0x4a1005 + site * 0x40, 0x4b0000 + site * 0x80,
                                    cstacks[site])));
      t += 20 + rng() % 200;
      check(tw.append(Event::park(t, tid, g, 1 + rng() % 2, 0xc000100000 + g * 96, bstacks[site])));
      if (rng() % 200 != 0) live.push_back(g);  // the rest leak
    } else {
      size_t i = rng() % live.size();
      uint64_t g = live[i];
      live[i] = live.back();
      live.pop_back();
      check(tw.append(Event::ready(t, tid, g, 1 + rng() % 4)));
      t += 30 + rng() % 300;
      check(tw.append(Event::exit(t, tid, g)));
    }
  }
  check(tw.close());
  return tw.events_written();
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t target = argc > 1 ? std::stoull(argv[1]) : 10'000'000;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  std::string raw_path = dir + "/replay_bench_raw.gtr", z_path = dir + "/replay_bench_zstd.gtr";

  Stopwatch t0;
  uint64_t events = write_churn(raw_path, target, 0);
  line("write (raw)", events, t0);
  t0 = Stopwatch();
  write_churn(z_path, target, 1);
  line("write (zstd level 1)", events, t0);
  uint64_t raw_bytes = std::filesystem::file_size(raw_path), z_bytes = std::filesystem::file_size(z_path);
  fmt::print("{:<28} {:.2f} bytes/event raw ({} MB), {:.2f} with zstd ({} MB)\n", "size", double(raw_bytes) / events,
             raw_bytes >> 20, double(z_bytes) / events, z_bytes >> 20);

  for (const auto& [name, path] : {std::pair{"raw", raw_path}, std::pair{"zstd", z_path}}) {
    Stopwatch report_t0;
    t0 = Stopwatch();
    auto reader = TraceReader::open(path);
    if (!reader) {
      fmt::print(stderr, "{}\n", reader.error().message());
      return 2;
    }
    line(fmt::format("open+validate ({})", name), events, t0);
    t0 = Stopwatch();
    auto cursor = (*reader)->cursor();
    uint64_t n = 0, sum = 0;
    for (Event e; cursor.next(e); ++n) sum += e.goid;
    line(fmt::format("decode ({})", name), n, t0);
    t0 = Stopwatch();
    Replayer replayer(**reader);
    replayer.run_to_end();
    line(fmt::format("replay to end ({})", name), events, t0);
    t0 = Stopwatch();
    TraceSymbols raw(nullptr);
    auto report = build_report(**reader, replayer.table(), raw, {}, replayer.table().time_ns());
    fmt::print("{:<28} cpu {:>7.3f} s  ({} groups, {} goroutines alive, {} checkpoints)\n",
               fmt::format("build report ({})", name), t0.cpu_s(), report->groups.size(), report->alive(),
               replayer.checkpoint_count());
    line(fmt::format("report total ({})", name), events, report_t0);
    (void)sum;
  }
  std::filesystem::remove(raw_path);
  std::filesystem::remove(z_path);
}
