// replay_bench: throughput of the trace pipeline over a synthetic churn workload — write,
// open (validating decode), cursor decode, replay to the end, and a full report — plus bytes
// per event with and without zstd. Not a test: run it by hand.
// `moves` times what a user of `gorepro replay` waits for instead: opening the trace the way
// the CLI does (TraceSession), then the first move after open and later ones, and the memory
// held; it leaves the trace in DIR for timing the CLI itself.
// Usage: replay_bench [EVENTS (default 10000000)] [DIR (default /tmp)] [moves]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <fmt/format.h>

#include "replay/leak_report.h"
#include "replay/replay_console.h"
#include "replay/replayer.h"
#include "replay/trace_reader.h"
#include "replay/trace_session.h"
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

// "VmRSS" or "VmHWM" (peak) of this process, in MB.
double memory_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string l; std::getline(in, l);)
    if (l.starts_with(field + ":")) return std::stod(l.substr(field.size() + 1)) / 1024;
  return 0;
}

// Opens the trace as `gorepro replay` does and runs console commands, each timed from the
// user's side. Every "first" line is a fresh open followed by one move.
void moves(const std::string& path) {
  auto open = [&](Stopwatch& t) {
    t = Stopwatch();
    auto s = TraceSession::open(path);
    if (!s) {
      fmt::print(stderr, "{}\n", s.error().message());
      std::exit(2);
    }
    return std::move(*s);
  };
  auto timed = [](ReplayConsole& c, const std::string& cmd) {
    Stopwatch t;
    ConsoleReply r = c.execute(cmd);
    if (r.error) {
      fmt::print(stderr, "{}: {}\n", cmd, r.error->message());
      std::exit(2);
    }
    fmt::print("  {:<34} cpu {:>7.1f} ms  wall {:>7.1f} ms\n", cmd, t.cpu_s() * 1e3, t.wall_s() * 1e3);
    return t.wall_s();
  };
  fmt::print("{:<28} {:.0f} MB before opening\n", "rss", memory_mb("VmRSS"));
  Stopwatch t;
  uint64_t n = 0;
  for (std::string first : {"goto end", "goto 90%", "goto 50%"}) {
    auto session = open(t);
    n = session->reader().event_count();
    fmt::print("{:<28} cpu {:>7.1f} ms  wall {:>7.1f} ms\n", "open (TraceSession)", t.cpu_s() * 1e3, t.wall_s() * 1e3);
    ReplayConsole c(*session, false);
    if (first.ends_with('%')) first = fmt::format("goto {}", n * std::stoull(first.substr(5)) / 100);
    timed(c, first);
  }
  auto session = open(t);
  fmt::print("{:<28} cpu {:>7.1f} ms  wall {:>7.1f} ms\n", "open (TraceSession)", t.cpu_s() * 1e3, t.wall_s() * 1e3);
  ReplayConsole c(*session, false);
  double first = timed(c, "goto end"), worst = 0;
  for (uint64_t at : {n / 2, n / 10, n - 2, 7 * n / 9, uint64_t{3}, n / 3, n - n / 20})
    worst = std::max(worst, timed(c, fmt::format("goto {}", at)));
  for (const char* cmd : {"prev 1000", "prev create ^0x4a1005$", "next exit", "next 100000", "prev 2000000"})
    worst = std::max(worst, timed(c, cmd));
  fmt::print("{:<28} first goto end {:.1f} ms, worst later move {:.1f} ms (wall)\n", "moves", first * 1e3,
             worst * 1e3);
  // The first ready/exit search at a site also indexes every goroutine's go statement.
  for (const char* cmd : {"next exit ^0x4a1005$", "prev ready ^0x4a1045$"}) timed(c, cmd);
  // Not moves: the table at this point, and one goroutine's history (read from the trace).
  for (const char* cmd : {"sites", "goroutines", "goroutine 100"}) timed(c, cmd);
  fmt::print("{:<28} {:.0f} MB now, peak {:.0f} MB ({} checkpoints)\n", "rss", memory_mb("VmRSS"),
             memory_mb("VmHWM"), session->replayer().checkpoint_count());
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t target = argc > 1 ? std::stoull(argv[1]) : 10'000'000;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  std::string raw_path = dir + "/replay_bench_raw.gtr", z_path = dir + "/replay_bench_zstd.gtr";
  if (argc > 3 && std::string(argv[3]) == "moves") {
    Stopwatch t0;
    line("write (raw)", write_churn(raw_path, target, 0), t0);
    moves(raw_path);
    fmt::print("kept {} (e.g. for timing `gorepro replay` on it)\n", raw_path);
    return 0;
  }

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
