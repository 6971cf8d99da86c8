// Leak verdicts by a conservative heap scan of a stopped Go program (issue 15). Given read
// access to the memory of a process whose every thread is stopped (at its exit, or before a
// detach), it tells for every goroutine whether it can still wake:
//   roots    = the writable ELF sections (globals), the registers given, the stacks of the
//              goroutines that can run (running, runnable, in a system call) and of those the
//              runtime will wake itself (sleep, timers, network I/O, its own workers);
//   objects  = elemsize slots of in-use spans, found through mheap_.allArenas → heapArena.spans
//              → mspan; every aligned word that points into a slot keeps the slot alive
//              (conservative: a stale or non-pointer word can only hide a leak, never invent one);
//   fixed point: a goroutine blocked on a channel or semaphore whose object is marked becomes a
//              root in turn (its stack is scanned), until nothing changes.
// A blocked goroutine whose every wait object stays unmarked, or that waits on nothing (nil
// channel, `select {}`), is leaked. g structs and the sudogs of blocked goroutines are never
// scanned: through them (allgs → g → g.waiting → sudog.c) every channel waited on would be
// reachable; the Go runtime's own goroutineleak GC hides the same pointers.
//
// Memory is read in big blocks, never word by word: the heap a 32 MiB window at a time (runs of
// adjacent spans, one iovec each, up to 1024 per process_vm_readv) into one of two reused
// buffers, and scanned from there while a second thread reads the next window into the other
// (the stopped program leaves a CPU free); big objects in 1 MiB pieces; noscan spans never.
// Offsets come from the binary's RuntimeLayout only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dwarf/go_binary.h"
#include "replay/leak_verdicts.h"
#include "util/result.h"
#include "util/target_memory.h"

namespace gorepro::verdict {

// A stopped thread's general registers, as roots; the SP bounds its goroutine's live stack, and
// the PC (where it was stopped, at any instruction) gives its innermost frame's size.
struct ThreadRoots {
  uint64_t tid = 0;
  uint64_t sp = 0;
  uint64_t pc = 0;
  // Stopped in a system call (orig_rax): its registers hold that call's arguments, not live
  // pointers; the GC does not read them either (it scans a goroutine in a system call from the
  // PC/SP entersyscall saved).
  bool in_syscall = false;
  std::vector<uint64_t> words;  // every general-purpose register
};

struct ScanOptions {
  uint64_t now_ns = 0;  // stamped on the result (CLOCK_MONOTONIC)
  // The heap is read and scanned a window of this many bytes at a time; gorepro holds two (one
  // scanned, the next being read). Smaller windows only to test the windows' hand-over.
  uint64_t window_bytes = kDefaultWindowBytes;
  static constexpr uint64_t kDefaultWindowBytes = 32 << 20;
};

// Computes a verdict for every live goroutine. The process must stay stopped meanwhile.
// Errors name what the binary lacks. A stripped binary is scanned too (GoBinary finds mheap_,
// semtable and allgs in the runtime's code).
Result<replay::LeakVerdicts> scan_verdicts(const GoBinary& binary, const TargetMemory& memory, uint64_t load_bias,
                                           std::span<const ThreadRoots> threads, const ScanOptions& options = {});

}  // namespace gorepro::verdict
