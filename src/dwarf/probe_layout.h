// ProbeLayout: every runtime fact a probe decoder needs, resolved once from a GoBinary — the
// struct offsets it reads, the goroutine status constants, the registers holding each probed
// function's arguments and results (by name: "RAX"), the coroutine wait reason and gopark's
// entry. The ptrace decoder and the BPF programs take them from here, so both read the same
// facts, and a binary lacking one is refused with the same message whichever backend runs.
//
// Invariants after resolve(): every required field is set; fields some Go versions lack are -1
// (offsets) or "" (registers); g_read_size covers every g field read at a hit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace gorepro {

class GoBinary;

// Whether a wait reason (the runtime's waitReasonStrings) is a wait on a semaphore in
// runtime.semtable: semacquire1's callers (Mutex, RWMutex, WaitGroup, semacquire), in every
// supported version.
bool is_semaphore_wait(std::string_view reason);

struct ProbeLayout {
  // Offsets (bytes) into runtime.g, m, sudog and coro.
  int64_t g_goid = 0, g_gopc = 0, g_startpc = 0, g_status = 0, g_waitreason = 0, g_parent = -1;
  int64_t g_sched_sp = 0, g_sched_pc = 0, g_sched_bp = 0, g_schedlink = 0, g_m = 0, g_stack_hi = 0;
  int64_t g_waiting = 0, m_g0 = 0, m_curg = 0, sudog_c = 0;
  int64_t g_coroarg = -1, g_coroexit = -1, coro_gp = -1;  // Go 1.22+
  // What a goroutine parked on a semaphore (Mutex, RWMutex, WaitGroup, semacquire) waits on:
  // gopark's lock is then its runtime.semtable root's lock (semaRoot's first field), the root's
  // treap holds a sudog per waiter (children prev/next, same-address waiters on waitlink), and
  // that sudog's elem is the semaphore's address. -1 where the layout lacks one: the root's
  // address stays the park's object.
  int64_t semaroot_treap = -1, sudog_g = -1, sudog_elem = -1, sudog_prev = -1, sudog_next = -1,
          sudog_waitlink = -1;
  std::vector<bool> sema_reasons;  // index = waitReason value: a wait on a semaphore
  size_t g_read_size = 0;  // bytes of a g read at once: its last field read + 8

  // pprof labels: g.labels points at a runtime/pprof.labelMap, in one of two forms (which one is
  // the layout's to say: the keys it holds). -1 where absent: labels are not read.
  int64_t g_labels = -1;
  // A struct holding a slice of {Key, Value string} (Go 1.24+): the slice header's offset in
  // the labelMap and the stride of its elements.
  int64_t labels_list = -1, label_size = 0;
  // A map[string]string (up to Go 1.23): the labelMap is the map, a pointer to its hmap.
  int64_t hmap_count = -1, hmap_b = 0, hmap_buckets = 0, hmap_oldbuckets = 0;
  int64_t bucket_tophash = 0, bucket_keys = 0, bucket_values = 0, bucket_overflow = 0;
  int64_t bucket_entries = 0, bucket_size = 0;

  // The runtime's goroutine status constants (_Gidle...; _Gscan is a bit).
  uint32_t st_idle = 0, st_runnable = 0, st_running = 0, st_syscall = 0, st_waiting = 0, st_dead = 0,
           st_preempted = 0, st_scan = 0;
  // Go 1.26+: _Gleaked (a waiting goroutine the GC's leak detector proved unreachable: still
  // waiting) and _Gdeadextra (the idle g of a cgo extra M: dead). kNoState where absent.
  static constexpr uint32_t kNoState = ~uint32_t(0);
  uint32_t st_leaked = kNoState, st_deadextra = kNoState;
  uint32_t reason_coroutine = 0;  // waitReasonCoroutine, when the version has it

  // Argument/result registers of the probed functions.
  std::string reg_create_result, reg_park_reason, reg_park_lock, reg_ready_gp, reg_inject_list,
      reg_netpoll_result, reg_execute_gp, reg_preempt_gp, reg_yield_gp, reg_exitsyscall0_gp;
  std::string reg_sched_g_gp;  // the schedtrace G-line read site's base register ("" if none)

  uint64_t gopark_entry = 0;  // link-time; frame 0 of every block stack taken at gopark

  // Everything above from binary's RuntimeLayout and probes; an error names what is missing.
  static Result<ProbeLayout> resolve(const GoBinary& binary);
};

}  // namespace gorepro
