// Backend: one way of observing a Go program's runtime — ptrace breakpoints, a gdb child over
// GDB/MI, or eBPF uprobes — behind the one interface the recording loop (tracer::Recorder),
// `gorepro debug` and `gorepro repro` drive. In the style of Delve's proc.Process: backends
// implement primitives (start, place probes, deliver what the probes saw, let go); the loop,
// deadlines, signals to gorepro, the trace and the status line are written once, outside.
//
// Lifecycle: launch() or attach() → [patch()] → arm() → poll()… → detach() (or the target exits).
// Thread rules: every call but request_stop() comes from the thread that called launch/attach
// (ptrace requires it); request_stop() may be called from any thread or a signal handler.
// What differs between backends is stated by caps(), never by asking a backend's name; optional
// abilities (live stops for `debug`) are separate interfaces a backend may also implement.
//
// Invariants: every event reaches the EventSink in an order consistent with each goroutine's
// history; detach() restores every byte a backend changed and is idempotent (the destructor
// detaches too); a backend never changes the signals, output or exit status of the target.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dwarf/go_binary.h"
#include "tracer/event_sink.h"
#include "tracer/launch_options.h"
#include "util/result.h"
#include "util/target_memory.h"

namespace gorepro::tracer {

struct BackendCaps {
  bool stops_target = true;           // a probe hit holds its thread until decoded (ptrace, gdb)
  bool survives_tracer_death = false;  // a SIGKILL of gorepro leaves the target running unchanged
                                       // (else `record --pid` runs it under a guardian)
  bool can_patch = false;              // can rewrite target memory before it runs (patch())
  bool sched_probes = false;           // can probe schedtrace dumps in order with the events
  bool perturb = false;                // can hold a thread at a stop for a while (repro)
  bool live_stop = false;              // implements LiveTarget (debug)
  bool verdicts = false;               // can stop the whole program at its exit / before detach and
                                       // take leak verdicts (ArmSpec::verdicts)
  bool probes = true;                  // places probes; false: samples the goroutine list instead
                                       // (snapshots: chosen_probes() is empty, the trace is sampled)
};

struct LaunchSpec {
  std::string path;                // resolved executable
  std::vector<std::string> argv;   // argv[0] included
  LaunchOptions options;
};

// What to observe, once started.
struct ArmSpec {
  std::vector<const Probe*> probes;    // chosen_probes(): roles and addresses (link-time)
  int stack_depth = 32;                // frames kept per creation/block stack
  bool enumerate_preexisting = false;  // attach: a preexisting event per live goroutine first
  bool settle_reads = false;           // schedtrace G-line reads wait for in-flight changes
  bool start_held = false;             // caps().live_stop: arm leaves the program held (resume() runs it)
  bool verdicts = false;               // caps().verdicts: scan for leak verdicts at the report instant
                                       // (the program's exit; before detaching) into the sink
};

struct ArmResult {
  size_t preexisting = 0;           // goroutines found alive at attach
  std::vector<std::string> probes;  // "role:function" actually placed
};

struct PollResult {
  enum class Kind {
    kTimeout,        // until_ns passed (or a signal woke the backend): call poll again
    kExited,         // the target exited (exit_status) or was killed (signal)
    kExec,           // the target called exec: the probed image is gone
    kStopRequested,  // request_stop() was called
    kSinkFailed,     // the EventSink refused an event (message): the trace cannot go on
    kFailed,         // the backend lost control of the target (message)
    kHeld,           // LiveTarget: the whole program is held (held_at: the event that asked)
  };
  Kind kind = Kind::kTimeout;
  int exit_status = 0;  // kExited: exit code, or 128 + signal
  int signal = 0;       // kExited by a signal: which
  std::string message;
  std::optional<replay::Event> held_at;  // kHeld after an event matched LiveTarget::hold_when
};

// How the target ended, when the backend saw it end (during poll or while detaching).
struct TargetExit {
  int exit_status = 0;
  int signal = 0;
};

struct BackendStats {
  uint64_t hits = 0;           // probe hits seen
  uint64_t events = 0;         // events delivered to the sink
  uint64_t read_failures = 0;  // hits dropped: target memory could not be read
  uint64_t lost = 0;           // events the transport dropped (eBPF ring buffer full)
  uint64_t unemulated_steps = 0;  // ptrace: hits stepped over with the breakpoint lifted
  // schedtrace G-line reads (record --scheddetail) whose goroutine had a change in flight:
  uint64_t settled_reads = 0;    // held back until the change landed
  uint64_t settle_timeouts = 0;  // went ahead without it: its thread did not run in time
  uint64_t settle_blocked = 0;   // went ahead without it: its thread sat in one of our stops
  // Snapshot recordings: goroutine lists read, how long the reads took, and how often one was
  // redone because the list moved under it (or dropped: the program was exiting).
  uint64_t snapshots = 0;
  uint64_t snapshot_read_ns = 0;      // summed over snapshots
  uint64_t snapshot_max_read_ns = 0;
  uint64_t snapshot_retries = 0;
  uint64_t snapshots_dropped = 0;
  uint64_t capped_dumps = 0;     // dumps with more G lines than EventDecoder::kSchedReadsPerDump
};

struct DecoderStats;
// The counts a backend that decodes through EventDecoder (ptrace, gdb) reports.
BackendStats stats_of(const DecoderStats& d);

// poll(until) returns at most this long after until, even when the program is quiet (the
// recorder's --until checks count on it).
inline constexpr uint64_t kPollLatenessNs = 50'000'000;

class LiveTarget;
class GuardTable;

// Perturbation for `gorepro repro`: after each decoded event, how long the thread that reported
// it stays stopped before it goes on (0: not at all). Holding a thread at a create stop delays
// the parent, at an execute stop the goroutine about to run, at a ready stop the wakeup itself.
// Called on the backend's thread; must be cheap. Only backends whose caps().perturb is true ask.
// A hold may also end early, on what the program does meanwhile: after every later event the
// backend asks hold_over(n) for each hold still on (n: the hold's number, counting from 0 the
// events hold_ns answered non-zero for), so a hold can last "until that goroutine parks" whatever
// the machine's speed; hold_ns is then its longest time.
class Perturber {
 public:
  virtual ~Perturber() = default;
  virtual uint64_t hold_ns(const replay::Event& event) = 0;
  virtual bool hold_over(uint64_t hold) { (void)hold; return false; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual BackendCaps caps() const = 0;

  // Starts the program stopped before its first instruction, or attaches to a running one
  // (stopping backends stop every thread). Exactly one of them, once.
  virtual Status launch(const LaunchSpec& spec) = 0;
  virtual Status attach(pid_t pid) = 0;
  virtual pid_t pid() const = 0;
  // Run-time minus link-time addresses (a PIE's load bias; 0 otherwise).
  virtual uint64_t load_bias() const = 0;
  // Overwrites target memory before arm() (caps().can_patch); detach() restores it.
  virtual Status patch(uint64_t address, std::span<const uint8_t> bytes);
  // Places the probes, emits the goroutines alive now when asked, and lets the target run.
  virtual Result<ArmResult> arm(const ArmSpec& spec, EventSink& sink) = 0;
  // Delivers what the probes saw to the sink until CLOCK_MONOTONIC until_ns, or returns early
  // when something ends the recording (see PollResult::Kind).
  virtual PollResult poll(uint64_t until_ns) = 0;
  // Asks poll() to return kStopRequested soon. Safe from signal handlers and other threads.
  virtual void request_stop() = 0;
  // Removes every probe and patch and lets the target go; it runs on as if never traced.
  // Idempotent; a no-op once the target is gone.
  virtual Status detach() = 0;
  // How the target ended, if it did while we held it (also when it was already exiting
  // when detach() began).
  virtual std::optional<TargetExit> target_exit() const = 0;
  virtual BackendStats stats() const = 0;
  // Before attach(): enter every byte this backend will write into the program in `table` first,
  // so that a guardian process can put them back if gorepro dies (tracer/guardian.h). A backend
  // that leaves nothing behind when gorepro dies ignores it.
  virtual void guard_bytes(GuardTable& table) { (void)table; }
  // Before arm(): ask `perturber` after each event how long to hold its thread (caps().perturb;
  // ignored otherwise). Other threads run on meanwhile; the hold never changes what the target
  // computes, only when. nullptr: no perturbation.
  virtual void set_perturber(Perturber* perturber) { (void)perturber; }
  // The live-stop abilities `gorepro debug` needs, when caps().live_stop; else nullptr.
  virtual LiveTarget* live() { return nullptr; }
  // Why the verdicts ArmSpec::verdicts asked for were not taken ("" when they were, or not asked).
  virtual std::string verdict_error() const { return ""; }
};

// Optional abilities of a backend that can hold the whole program (every thread stopped) at a
// decoded event and let a person look at it: `gorepro debug`. Same thread rules as Backend.
class LiveTarget {
 public:
  virtual ~LiveTarget() = default;
  // After delivering an event for which `when` is true, poll() holds the program and returns
  // kHeld with that event. An empty function holds at nothing.
  virtual void hold_when(std::function<bool(const replay::Event&)> when) = 0;
  // Asks poll() to hold the program as soon as it can and return kHeld without an event
  // (Ctrl-C at the debug prompt). Safe from a signal handler.
  virtual void request_hold() = 0;
  // After kHeld: every thread runs again.
  virtual Status resume() = 0;
  // While held: the program's memory (the goroutine list, stacks, variables).
  virtual const TargetMemory& memory() const = 0;
  // While held: one command of the backend's own debugger, and its answer (gdb: any gdb
  // command); an error where the backend has none.
  virtual Result<std::string> passthrough(std::string_view command) {
    (void)command;
    return make_error("this backend has no debugger of its own to pass commands to", "use --backend gdb");
  }
  // Ends the program (SIGKILL) and waits for it.
  virtual Status kill() = 0;
  // While held: the leak verdicts of this instant (the same heap scan as at a recording's end,
  // caps().verdicts); an error where the backend cannot take them.
  virtual Result<replay::LeakVerdicts> verdicts_now() {
    return make_error("this backend takes no leak verdicts", "use --backend ptrace or gdb");
  }
};

// The probes a recording places, in the order ids are assigned, for the options asked and what
// the backend can do (sched probes only where caps().sched_probes).
struct ProbeOptions {
  bool probe_execute = false;      // also where every goroutine starts running (slower)
  bool probe_states = false;       // every running/runnable/syscall switch (execute included)
  bool probe_schedtrace = false;   // where the runtime begins and ends a schedtrace dump
  bool probe_sched_reads = false;  // ... and where it reads each goroutine for a G line
};
std::vector<const Probe*> chosen_probes(const GoBinary& binary, const ProbeOptions& options,
                                        const BackendCaps& caps = BackendCaps{.sched_probes = true});

uint64_t monotonic_ns();

}  // namespace gorepro::tracer
