// EventDecoder: turns a probe hit (src/dwarf's Probe roles) on a stopped thread into the events
// of the shared model, by reading the runtime's own structures out of the target — the g being
// created, parked, readied or exiting, its goid, creation PC, wait reason and stack. Shared by
// every backend that stops the target at its probes: the backend supplies the thread's
// registers and a TargetMemory view (ptrace's Tracee, gdb's MI reads); nothing here knows how
// they were obtained. Offsets and argument registers come from the RuntimeLayout only. Also
// enumerates the goroutines that already exist when attaching (runtime.allgs), which any
// backend can use over a ProcessMemory view.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dwarf/go_binary.h"
#include "dwarf/probe_layout.h"
#include "replay/event.h"
#include "tracer/event_sink.h"
#include "tracer/registers.h"
#include "util/result.h"
#include "util/target_memory.h"

namespace gorepro::tracer {

enum class ProbeRole {
  kCreate, kPark, kReady, kInject, kNetpoll, kExecute, kExit, kGcWorker, kUnpark, kCoroSwitch,
  kPreempt, kYield, kSyscall, kSyscallBlock, kSyscallExit, kSyscallExit0,  // state probes
  kSchedBegin, kSchedEnd, kSchedG,
};
std::optional<ProbeRole> probe_role(const std::string& name);

struct DecoderStats {
  uint64_t hits = 0;
  uint64_t events = 0;
  uint64_t read_failures = 0;  // memory that could not be read: an event was dropped
  // G-line reads whose goroutine had a recorded change in flight:
  uint64_t settled_reads = 0;    // held back until the change landed
  uint64_t settle_timeouts = 0;  // went ahead without it: its thread did not run within the bound
  uint64_t settle_blocked = 0;   // went ahead without it: its thread sat in one of gorepro's stops
  uint64_t capped_dumps = 0;     // dumps whose G-line reads reached kSchedReadsPerDump
};

// One goroutine as read from runtime.allgs while the program runs (snapshots): what tells a
// change since the previous read, and what describes it. Its stack is walked only when asked
// (EventDecoder::saved_stack), so an unchanged goroutine costs one read of its g.
struct GoroutineSample {
  uint64_t goid = 0;
  uint64_t parent = 0;  // 0 where the version has no g.parentGoid
  replay::GoState state = replay::GoState::Unknown;
  uint32_t wait_reason = 0;           // when waiting
  uint64_t gopc = 0, start_pc = 0;    // link-time
  uint64_t sched_pc = 0, sched_bp = 0, stack_hi = 0;  // run-time: where it stopped, for the walk
  uint64_t labels = 0;  // run-time: g.labels (0: none, or the layout cannot read them)
};

// The goroutine list as one read saw it. runtime.allgs only grows (under allglock) and a g is
// never freed, so any (pointer, length) pair read is a consistent prefix of it; `retries`
// counts reads redone because the slice changed while its elements were read.
struct GoroutineList {
  std::vector<GoroutineSample> live;  // allgs order, dead and idle ones left out
  size_t allglen = 0;
  size_t unreadable = 0;  // g structs (or the list itself) that could not be read: the program is
                          // likely exiting; `live` is then incomplete
  bool list_unreadable = false;  // ... the list itself: `live` is empty
  uint32_t retries = 0;
};

class EventDecoder {
 public:
  static constexpr uint32_t kNoChange = UINT32_MAX;  // emit(): the event announces no status change
  // Resolves every offset and register it needs up front; an error names what is missing.
  // load_bias: run-time minus link-time addresses of the target (PIE); events carry link-time PCs.
  static Result<EventDecoder> make(const GoBinary& binary, const TargetMemory& memory, uint64_t load_bias,
                                   EventSink& sink, int stack_depth);

  // Decodes one hit on thread tid, stopped with regs at the probe, into zero or more events
  // and emits them.
  Status on_hit(ProbeRole role, uint32_t tid, const Registers& regs, uint64_t now_ns);
  // Emits a preexisting event for every live goroutine in runtime.allgs (all threads stopped).
  Result<size_t> snapshot_goroutines(uint64_t now_ns);
  // Every live goroutine in runtime.allgs, read while the program runs (or not): the slice
  // header is read again after its elements, and the whole read redone (up to max_retries)
  // when it moved. Checks the layout against the first goroutines read (check_live_g). Errors
  // are for a binary gorepro cannot read this way; unreadable memory is counted in the list.
  Result<GoroutineList> read_goroutines(uint32_t max_retries = 3);
  // A preexisting event per goroutine of the list, stamped now_ns.
  Status emit_preexisting(const GoroutineList& list, uint64_t now_ns);
  // The stack of a goroutine that is not running, from the context saved in its g.sched.
  replay::StackId saved_stack(const GoroutineSample& g) { return walk_stack(g.sched_pc, g.sched_bp, g.stack_hi); }

  // The pprof labels at g.labels = ptr (runtime/pprof.labelMap, either form the layout
  // describes): false when unreadable; empty for ptr 0 or a layout without labels.
  bool read_labels(uint64_t ptr, replay::Labels& out) const;
  // Emits e, with its goroutine's labels when labels_ptr differs from the last one seen for it
  // (labels change by replacing the pointer: a labelMap is never changed once published).
  Status emit_with_labels(const replay::Event& e, uint64_t labels_ptr, uint32_t old_status = kNoChange);
  void forget_labels(uint64_t goid) { labels_seen_.erase(goid); }

  const DecoderStats& stats() const { return stats_; }
  // With G-line read probes: hold each read until changes already recorded for that goroutine
  // have landed in its status (see kSchedG).
  void set_settle_reads(bool on) { settle_reads_ = on; }
  // G-line reads probed per dump (record --scheddetail). A dump lists every g the runtime keeps,
  // dead ones included (20,000 after a burst of 20,000 goroutines), and each read is a stop:
  // past this many, the backend lifts the read probe until the next dump begins, so a dump
  // costs at most this many stops. Its later G lines are compared at any instant of the dump.
  static constexpr uint64_t kSchedReadsPerDump = 500;
  // Whether the G-line read probe should be in place now: false from the dump's
  // kSchedReadsPerDump-th read until the next dump begins. A backend that can lift a probe
  // while the program runs follows it after each hit.
  bool sched_reads_wanted() const { return sched_reads_in_dump_ < kSchedReadsPerDump; }

 private:
  // A g read in one process_vm_readv, decoded on demand.
  struct GView {
    uint8_t bytes[512];
    uint64_t u64(int64_t off) const;
    uint32_t u32(int64_t off) const;
    uint8_t u8(int64_t off) const;
  };
  EventDecoder(const GoBinary& b, const TargetMemory& m, EventSink& s) : binary_(b), memory_(m), sink_(s) {}
  bool read_g(uint64_t addr, GView* g) const;
  // The layout's check against live data, before the first event is believed: a goroutine that
  // just came to life (or is alive at attach) has a status the runtime defines and a goid that
  // is a count, not garbage. An error means the offsets are not this runtime's: stop recording
  // rather than write a trace of wrong values. `what` names the goroutine in the message.
  Status check_live_g(const GView& g, const char* what) const;
  bool layout_confirmed_ = false;  // a created goroutine passed check_live_g
  // The goroutine running on the stopped thread: R14's g, or m.curg when R14 is a g0.
  uint64_t current_user_g(const Registers& regs) const;
  // Frame-pointer walk: first_pc, then return addresses from the frame at bp.
  replay::StackId walk_stack(uint64_t first_pc, uint64_t bp, uint64_t stack_hi);
  // The stack of a goroutine that is not running, from the context saved in its g.sched.
  replay::StackId saved_stack(const GView& g) {
    return walk_stack(g.u64(off_sched_pc_), g.u64(off_sched_bp_), g.u64(off_stack_hi_));
  }
  replay::GoState state_of(uint32_t atomicstatus) const;
  // Emits e; old_status: the runtime status the event's goroutine leaves (the probe fired just
  // before the change), remembered for settle() when G-line reads are probed.
  Status emit(const replay::Event& e, uint32_t old_status = kNoChange);
  void note(const replay::Event& e, uint32_t old_status);  // emit()'s bookkeeping
  uint64_t labels_of(const GView& g) const { return layout_.g_labels >= 0 ? g.u64(layout_.g_labels) : 0; }
  struct InFlight {
    uint32_t old_status;
    uint32_t tid;  // the thread that will make the change
  };
  // Waits (bounded) until the g at gaddr has left the status it was leaving — unless the
  // thread that will change it is itself stopped by us (a stop we have not handled yet).
  void settle(uint64_t gaddr, const InFlight& change);
  bool thread_in_trace_stop(uint32_t tid) const;
  Status emit_list_ready(uint64_t head, uint32_t tid, uint64_t now, uint64_t waker);
  // A State event for the g at gaddr (its goid read from the target).
  Status emit_state(uint64_t gaddr, uint32_t tid, uint64_t now, replay::GoState to, uint32_t old_status);

  const GoBinary& binary_;
  const TargetMemory& memory_;
  EventSink& sink_;
  int stack_depth_ = 32;
  DecoderStats stats_;
  bool settle_reads_ = false;  // the G-line reads are probed (record --scheddetail)
  bool exact_reads_ = false;   // ... and this binary has the read site
  std::unordered_map<uint64_t, uint64_t> labels_seen_;  // goid -> g.labels last emitted (not 0)
  std::unordered_map<uint64_t, InFlight> in_flight_;  // goid -> the change its last event announced
  uint64_t sched_reads_in_dump_ = 0;  // G-line reads since the last dump began
  // From the layout:
  int64_t off_goid_ = 0, off_gopc_ = 0, off_startpc_ = 0, off_status_ = 0, off_waitreason_ = 0;
  int64_t off_parent_ = -1, off_sched_sp_ = 0, off_sched_pc_ = 0, off_sched_bp_ = 0, off_schedlink_ = 0;
  int64_t off_m_ = 0, off_stack_hi_ = 0, off_waiting_ = 0;
  int64_t off_m_g0_ = 0, off_m_curg_ = 0, off_sudog_c_ = 0;
  // The semaphore goroutine gaddr parks on, from the semtable root whose lock gopark was given
  // (the root is locked until the park completes, so its treap holds still); 0 when not found.
  uint64_t semaphore_of(uint64_t root, uint64_t gaddr) const;
  int64_t off_coroarg_ = -1, off_coroexit_ = -1, off_coro_gp_ = -1;  // Go 1.22+
  ProbeLayout layout_;  // the rest of it: g_labels and labelMap fields, semaphores
  uint32_t reason_coroutine_ = 0;  // waitReasonCoroutine's value, when the version has it
  size_t g_read_size_ = 0;
  RegisterRef reg_create_result_, reg_park_reason_, reg_park_lock_, reg_ready_gp_, reg_inject_list_,
      reg_netpoll_result_, reg_execute_gp_, reg_preempt_gp_, reg_yield_gp_, reg_exitsyscall0_gp_, reg_sched_g_gp_;
  uint64_t gopark_entry_ = 0;  // link-time
  uint64_t bias_ = 0;          // run-time minus link-time addresses (PIE); events carry link-time PCs
  uint32_t st_idle_ = 0, st_runnable_ = 1, st_running_ = 2, st_syscall_ = 3, st_waiting_ = 4, st_dead_ = 6,
           st_preempted_ = 9, st_scan_ = 0x1000;
  // Go 1.26+ (ProbeLayout::st_leaked: waiting; st_deadextra: dead).
  uint32_t st_leaked_ = ProbeLayout::kNoState, st_deadextra_ = ProbeLayout::kNoState;
  std::vector<uint64_t> pcs_;  // reused stack buffer: no allocation per hit
  // read_goroutines' buffers, reused: allgs, the g structs, the reads.
  std::vector<uint64_t> list_ptrs_;
  std::vector<uint8_t> list_bytes_;
  std::vector<ReadRange> list_ranges_;
};

}  // namespace gorepro::tracer
