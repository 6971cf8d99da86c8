// A recorded leak scenario built by hand, with its expected report derived from how it is
// built: site A (main.sendLeaks, main.go:21) starts 9 goroutines of which 4 exit and 5 block in
// chan send at known times; site B (main.recvLeak, main.go:40) starts 3 that block in chan
// receive; one runtime goroutine (gcBgMarkWorker) was alive when recording began.
#pragma once

#include "replay_test_support.h"

namespace gorepro::replay::testing {

struct LeakScenario {
  static constexpr uint64_t kStart = 1'000'000'000;  // = sample_header().clock.monotonic_ns
  static constexpr uint64_t kGopcA = 0x401005, kStartA = 0x402000;
  static constexpr uint64_t kGopcB = 0x401105, kStartB = 0x403000;
  static constexpr uint64_t kRuntimeStart = 0x438000;
  static constexpr uint64_t kGopark = 0x43a000, kChansendRet = 0x43b010, kChanrecvRet = 0x43b110;
  static constexpr uint64_t kSendRet = 0x402025, kRecvRet = 0x403025, kGoexit = 0x43c010, kMainRet = 0x401205;

  std::vector<uint64_t> leaked_a, leaked_b;        // goids
  std::vector<uint64_t> park_time_a, park_time_b;  // when each blocked
  uint64_t exited_a = 4;
  uint64_t end_time = 0;
  uint64_t last_exit_seq = 0;   // after this event every exit has happened
  uint64_t first_park_a_seq = 0;
  uint64_t runtime_goid = 2;

  std::string write(const std::string& name) {
    return write_trace(name, [&](TraceWriter& w) {
      std::vector<uint64_t> creation = {kGopcA, kMainRet};
      std::vector<uint64_t> creation_b = {kGopcB, kMainRet};
      std::vector<uint64_t> send_block = {kGopark, kChansendRet, kSendRet, kGoexit};
      std::vector<uint64_t> recv_block = {kGopark, kChanrecvRet, kRecvRet, kGoexit};
      std::vector<uint64_t> runtime_block = {kGopark, kRuntimeStart + 0x40};
      StackId cs = w.intern_stack(creation), cb = w.intern_stack(creation_b);
      StackId sb = w.intern_stack(send_block), rb = w.intern_stack(recv_block), gb = w.intern_stack(runtime_block);
      uint64_t t = kStart + 1000;
      must(w.append(Event::preexisting(t, runtime_goid, 0, GoState::Waiting, kSelect, 0x437005, kRuntimeStart, gb)));
      uint64_t goid = 20;
      // Site A: 9 goroutines; the 2nd, 4th, 6th and 8th exit, the others block in chan send.
      for (int i = 0; i < 9; ++i, ++goid) {
        t += 10'000'000;
        must(w.append(Event::create(t, 100, 1, goid, kGopcA, kStartA, cs)));
        t += 1'000'000 * (i + 1);
        if (i % 2 == 1) {
          must(w.append(Event::exit(t, 101, goid)));
          last_exit_seq = w.events_written() - 1;
        } else {
          if (leaked_a.empty()) first_park_a_seq = w.events_written();
          must(w.append(Event::park(t, 101, goid, kChanSend, 0xc000010000 + goid * 96, sb)));
          leaked_a.push_back(goid);
          park_time_a.push_back(t);
        }
      }
      // Site B: 3 goroutines blocking in chan receive.
      for (int i = 0; i < 3; ++i, ++goid) {
        t += 5'000'000;
        must(w.append(Event::create(t, 100, 1, goid, kGopcB, kStartB, cb)));
        t += 2'000'000;
        must(w.append(Event::park(t, 102, goid, kChanReceive, 0xc000020000 + goid * 96, rb)));
        leaked_b.push_back(goid);
        park_time_b.push_back(t);
      }
      t += 100'000'000;
      must(w.append(Event::park(t, 100, 1, kSelect, 0, 0)));  // main waits: a placeholder with no site
      end_time = t;
    });
  }

  static void symbols(FakeSymbolizer& s) {
    s.add_range(kGopcA - 5, "main.sendLeaks", "/abs/main.go", 21);
    s.add_range(kGopcB - 5, "main.recvLeak", "/abs/main.go", 40);
    s.add_range(kMainRet - 5, "main.main", "/abs/main.go", 50);
    s.add_range(kStartA, "main.sendLeaks.func1", "/abs/main.go", 22);
    s.add_range(kStartB, "main.recvLeak.func1", "/abs/main.go", 41);
    s.add_range(kSendRet - 5, "main.sendLeaks.func1", "/abs/main.go", 23);
    s.add_range(kRecvRet - 5, "main.recvLeak.func1", "/abs/main.go", 42);
    s.add_range(kGopark, "runtime.gopark", "/go/src/runtime/proc.go", 400);
    s.add_range(kChansendRet - 5, "runtime.chansend", "/go/src/runtime/chan.go", 250);
    s.add_range(kChanrecvRet - 5, "runtime.chanrecv", "/go/src/runtime/chan.go", 580);
    s.add_range(kGoexit - 5, "runtime.goexit", "/go/src/runtime/asm_amd64.s", 1700);
    s.add_range(kRuntimeStart, "runtime.gcBgMarkWorker", "/go/src/runtime/mgc.go", 1300);
    s.add_range(kRuntimeStart + 0x40 - 5, "runtime.gcBgMarkWorker", "/go/src/runtime/mgc.go", 1310);
    s.add_range(0x437000, "runtime.gcBgMarkStartWorkers", "/go/src/runtime/mgc.go", 1200);
  }
};

}  // namespace gorepro::replay::testing
