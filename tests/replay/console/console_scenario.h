// A small trace built by hand for the replay console tests, with every expected answer derived
// from how it is built: main (g1) alternates two go statements — site A (main.fanout,
// main.go:21) starts g10..g14, each of which blocks in chan send at main.go:23 and leaks; site
// B (main.pool, main.go:40) starts g20..g22, each of which blocks in chan receive at main.go:42,
// is woken by g1 and exits. One schedtrace sample sits between the two phases. Chunks are tiny
// so that searches and seeks cross many chunk boundaries.
#pragma once

#include <memory>

#include "replay/replay_console.h"
#include "replay/replay_test_support.h"

namespace gorepro::replay::testing {

struct ConsoleScenario {
  static constexpr uint64_t kGopcA = 0x401005, kStartA = 0x402000, kGopcB = 0x401105, kStartB = 0x403000;
  static constexpr uint64_t kGopark = 0x43a000, kChansendRet = 0x43b010, kChanrecvRet = 0x43b110;
  static constexpr uint64_t kSendRet = 0x402025, kRecvRet = 0x403025, kMainRet = 0x401205;
  static constexpr const char* kSchedText = "SCHED 12ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0";

  std::vector<uint64_t> goids_a = {10, 11, 12, 13, 14}, goids_b = {20, 21, 22};
  std::map<uint64_t, uint64_t> create_seq, park_seq, ready_seq, exit_seq;  // goid -> seq
  uint64_t sched_seq = 0, events = 0;

  std::string write(const std::string& name) {
    TraceWriterOptions small;
    small.chunk_max_age_ns = 2'500'000;  // events are 1 ms apart: about 3 per chunk
    return write_trace(
        name,
        [&](TraceWriter& w) {
          StackId ca = w.intern_stack(std::vector<uint64_t>{kGopcA, kMainRet});
          StackId cb = w.intern_stack(std::vector<uint64_t>{kGopcB, kMainRet});
          StackId sa = w.intern_stack(std::vector<uint64_t>{kGopark, kChansendRet, kSendRet});
          StackId rb = w.intern_stack(std::vector<uint64_t>{kGopark, kChanrecvRet, kRecvRet});
          uint64_t t = 1'000'000'000 + 1'000'000;
          auto add = [&](const Event& e, std::map<uint64_t, uint64_t>* seqs) {
            if (seqs) (*seqs)[e.goid] = w.events_written();
            must(w.append(e));
            t += 1'000'000;
          };
          for (size_t i = 0; i < goids_a.size(); ++i) {
            add(Event::create(t, 100, 1, goids_a[i], kGopcA, kStartA, ca), &create_seq);
            add(Event::park(t, 101, goids_a[i], kChanSend, 0xc000010000 + i * 96, sa), &park_seq);
            if (i < goids_b.size()) {
              add(Event::create(t, 100, 1, goids_b[i], kGopcB, kStartB, cb), &create_seq);
              add(Event::park(t, 102, goids_b[i], kChanReceive, 0xc000020000 + i * 96, rb), &park_seq);
            }
          }
          sched_seq = w.events_written();
          add(Event::sched(t, w.intern_string(kSchedText)), nullptr);
          for (uint64_t g : goids_b) {
            add(Event::ready(t, 100, g, 1), &ready_seq);
            add(Event::exit(t, 102, g), &exit_seq);
          }
          events = w.events_written();
        },
        small);
  }

  static void symbols(FakeSymbolizer& s) {
    s.add_range(kGopcA - 5, "main.fanout", "/abs/main.go", 21);
    s.add_range(kGopcB - 5, "main.pool", "/abs/main.go", 40);
    s.add_range(kMainRet - 5, "main.main", "/abs/main.go", 50);
    s.add_range(kStartA, "main.fanout.func1", "/abs/main.go", 22);
    s.add_range(kStartB, "main.pool.func1", "/abs/main.go", 41);
    s.add_range(kSendRet - 5, "main.fanout.func1", "/abs/main.go", 23);
    s.add_range(kRecvRet - 5, "main.pool.func1", "/abs/main.go", 42);
    s.add_range(kGopark, "runtime.gopark", "/go/src/runtime/proc.go", 400);
    s.add_range(kChansendRet - 5, "runtime.chansend", "/go/src/runtime/chan.go", 250);
    s.add_range(kChanrecvRet - 5, "runtime.chanrecv", "/go/src/runtime/chan.go", 580);
  }
};

// A console over a written scenario, with the scenario's symbols (or raw PCs).
struct ConsoleHarness {
  std::unique_ptr<TraceReader> reader;
  FakeSymbolizer fake;
  std::unique_ptr<TraceSymbols> symbols;
  std::unique_ptr<Replayer> replayer;
  std::unique_ptr<ReplayConsole> console;

  ConsoleHarness(const std::string& path, bool json, bool symbolic = true, uint64_t checkpoint_interval = 4) {
    // Checkpoints laid while opening, as TraceSession does.
    Replayer::Layer layer(Replayer::Options{checkpoint_interval, false});
    auto r = TraceReader::open(path, layer.visitor());
    EXPECT_TRUE(r.ok()) << r.error().message();
    reader = std::move(*r);
    ConsoleScenario::symbols(fake);
    symbols = std::make_unique<TraceSymbols>(symbolic ? &fake : nullptr);
    replayer = std::make_unique<Replayer>(*reader, std::move(layer));
    console = std::make_unique<ReplayConsole>(*reader, *symbols, *replayer, json);
  }
  // Runs a command that must succeed.
  std::string run(const std::string& line) {
    ConsoleReply r = console->execute(line);
    EXPECT_FALSE(r.error) << line << ": " << r.error->message();
    return r.output;
  }
  ConsoleReply attempt(const std::string& line) { return console->execute(line); }
};

}  // namespace gorepro::replay::testing
