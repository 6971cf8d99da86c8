// What a goroutine that waits on time or I/O waits for, in the words of its verdict's evidence
// (issue 15: "say on what (a timer due at T, an fd)"): a sleep's deadline, a timer channel's next
// firing, the file descriptor of a netpoller wait and what it is. Read from the stopped program's
// memory with offsets from RuntimeLayout (DWARF or the generated table, so stripped binaries
// too); an answer the version or the binary cannot give is empty, and the evidence then names
// the wait reason alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dwarf/go_binary.h"
#include "util/target_memory.h"

namespace gorepro::verdict {

class WaitDetail {
 public:
  // now_ns: the program's CLOCK_MONOTONIC at the scan (the clock of the runtime's nanotime).
  WaitDetail(const GoBinary& binary, const TargetMemory& memory, uint64_t load_bias, uint64_t now_ns);

  // A sleeping goroutine (wait reason "sleep"): "due in 1.5s". The deadline is g.sleepWhen from
  // Go 1.23 on, g.timer's nextwhen before (timeSleep sets both just before it parks).
  std::string sleep(uint64_t g) const;

  // A goroutine parked in the netpoller ("IO wait"), whose stack runs from sp to stack_hi:
  // "fd 3 (read): TCP 127.0.0.1:4000, listening". netpollblock keeps &pollDesc.rg (or .wg), the
  // word that holds the goroutine, live across its gopark, and its caller keeps the pollDesc
  // itself for netpollcheckerr: a stack word w with *w == g, and w minus rg's (or wg's) offset
  // on the stack too, names the pollDesc and the direction.
  std::string io(uint64_t g, uint64_t sp, uint64_t stack_hi) const;

  // When the timer feeding channel c fires next (the runtime's nanotime), if c is the channel of
  // a pending timer (time.After, NewTimer, NewTicker): hchan.timer's when from Go 1.23 on (0 once
  // stopped); else the pending timers of every P's heap whose arg is c (Go 1.19–1.22, and the
  // asynctimerchan=1 timers of 1.23–1.26, which leave hchan.timer nil).
  std::optional<int64_t> timer_due(uint64_t c);

  // The notify list of the sync.Cond a goroutine waits on in Cond.Wait, 0 when not found: from
  // Go 1.26 on, g.waiting's sudog.elem; before, Cond.Wait's frame keeps its *Cond on the stack
  // (it calls c.L.Lock() after the wait), and the Cond's notify list holds the goroutine's sudog.
  uint64_t cond_of(uint64_t g, uint64_t waiting, uint64_t sp, uint64_t stack_hi) const;

  // "due in 1.5s", or "due 3ms ago" for a timer the runtime has not run yet.
  std::string due(int64_t when) const;

 private:
  int64_t off(const char* key) const;
  // The words of the stack from sp to stack_hi that may point outside it, sorted, distinct.
  std::vector<uint64_t> stack_pointers(uint64_t sp, uint64_t stack_hi, std::vector<uint64_t>* all) const;
  void index_heap_timers();

  const GoBinary& binary_;
  const RuntimeLayout& l_;
  const TargetMemory& mem_;
  uint64_t bias_ = 0;
  int64_t now_ = 0;
  bool heap_indexed_ = false;
  std::unordered_map<uint64_t, int64_t> heap_timers_;  // channel → when (Go 1.19–1.22)
};

}  // namespace gorepro::verdict
