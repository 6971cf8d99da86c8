// Tracee: one traced process and all of its threads under ptrace — launch or attach, follow new
// threads, int3 breakpoints resumed by emulating the displaced instruction, signals delivered
// unchanged, group-stops kept (PTRACE_LISTEN), and a detach that restores every original byte
// on every path. All ptrace calls happen on the thread that created the Tracee.
//
// Invariants: a breakpoint's int3 stays in memory from insert until detach (never lifted to step
// over it, unless its instruction cannot be emulated, or its owner lifts it on purpose with
// set_breakpoint_armed); every thread we know of is seized; the
// target receives exactly the signals it would have received without us; a thread whose int3
// stop has been collected is at once moved where it can run on from without us (past the
// displaced instruction, or back at it), so that if gorepro dies at any later moment the
// kernel lets it go on correctly (docs/tracer-death.md).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tracer/emulator.h"
#include "tracer/guard_table.h"
#include "tracer/launch_options.h"
#include "tracer/registers.h"
#include "util/result.h"
#include "util/target_memory.h"

namespace gorepro::tracer {

struct Breakpoint {
  uint64_t address = 0;
  uint8_t original = 0;
  int id = 0;  // the caller's probe index
  InstructionEmulator emulator;
};

// What wait() reports to the caller. Everything else (new threads, signals to pass on,
// group-stops) is handled inside.
struct Stop {
  enum class Kind {
    kBreakpoint,   // tid hit breakpoint `id`; regs.rip is the breakpoint address
    kExited,       // the process exited (status) or was killed (signal)
    kExec,         // the process called exec: the image we probed is gone
    kInterrupted,  // wait was interrupted by a signal to gorepro (EINTR): check your flags
    kExiting,      // (stop_at_exit) the process is exiting: thread tid (regs), which called
                   // exit_group, is stopped at its exit while the address space is still there
                   // (read it through tid: the leader may be gone); resume_exiting(tid) lets it
                   // go on. Reported once per process; not for a death by signal.
  };
  Kind kind = Kind::kInterrupted;
  pid_t tid = 0;
  int id = -1;
  Registers regs;
  int exit_status = 0;  // kExited: exit code, or 128 + signal
  int signal = 0;       // kExited by signal: which
};

class Tracee final : public TargetMemory {
 public:
  // Starts argv[0] (path already resolved) with the environment given, stopped right after its
  // exec, before any of its code ran. The child is killed if gorepro dies (PTRACE_O_EXITKILL).
  static Result<std::unique_ptr<Tracee>> launch(const std::string& path, const std::vector<std::string>& argv,
                                                const LaunchOptions& options = {});
  // Seizes every thread of pid and stops them all. With a guard, every byte later written into
  // the program is entered there first, and the guard is let go once detach() is done.
  static Result<std::unique_ptr<Tracee>> attach(pid_t pid, GuardTable* guard = nullptr);
  // Seizes a program whose recorder died, knowing the bytes that recorder wrote (a GuardTable's
  // entries) and the threads seen stopped one byte into one of its int3s as it died. Each thread the
  // dead recorder left in one of its int3s is put back at the instruction: one that has not
  // taken the SIGTRAP yet (caught, signal swallowed), one that stopped before running on from
  // one byte into the instruction (the guardian froze the program), and one that stopped before
  // the first instruction of the program's SIGTRAP handler (the signal frame the kernel built
  // is undone: registers, signal mask, FPU state). detach() then puts back every byte that
  // still holds the recorder's value. Then call detach().
  static Result<std::unique_ptr<Tracee>> adopt(pid_t pid, const std::vector<GuardTable::Entry>& bytes,
                                               const std::set<pid_t>& left_in_int3 = {});
  ~Tracee();

  pid_t pid() const override { return pid_; }
  size_t thread_count() const { return threads_.size(); }
  // The program's entry point in memory (AT_ENTRY); minus the ELF entry it gives the load
  // bias of a PIE binary (0 for ET_EXEC).
  uint64_t entry_address() const { return entry_address_; }

  // Memory of the tracee: one process_vm_readv per call.
  bool read(uint64_t addr, void* buf, size_t len) const override;

  // Requires every thread stopped (after launch/attach, before the first wait()).
  Status insert_breakpoint(uint64_t address, int id);
  // Overwrites bytes of the target's memory (every thread stopped, like insert_breakpoint);
  // detach() writes the original bytes back.
  Status patch(uint64_t address, const std::vector<uint8_t>& bytes);
  // Takes a breakpoint's int3 out of the code (armed=false) or puts it back, with some thread
  // stopped, while the others run. Its record stays: a hit taken just before it was lifted is
  // still recognised, and detach() restores the original byte either way. For a probe whose
  // every caller the caller holds stopped (the one thread printing a schedtrace dump).
  Status set_breakpoint_armed(uint64_t address, bool armed);
  // Lets every thread run (after setup).
  void resume_all();
  // From now on, the process's exit is reported as a kExiting stop first (PTRACE_O_TRACEEXIT on
  // every thread, inherited by new ones). Requires every thread stopped, like insert_breakpoint.
  Status stop_at_exit();
  // After kExiting: the thread goes on exiting (the kExited stop follows).
  void resume_exiting(pid_t tid) { cont(tid, 0); }
  // At kExiting: the registers every thread had when the exit_group stopped it (the one that
  // called it included), by thread id. A thread that had not reached its exit within a second
  // is missing. Each was let go on past its exit stop, which touches no user memory: what its
  // stack holds is what it held when killed.
  const std::map<pid_t, Registers>& exit_registers() const { return exit_regs_; }
  // The registers of every thread in a ptrace-stop (after stop_all), by thread id.
  std::vector<std::pair<pid_t, Registers>> stopped_registers() const;
  // Blocks until something the caller must handle happens.
  Stop wait();
  // Continues a thread stopped at a breakpoint, executing the displaced instruction (already
  // done by emulation when the stop was collected, else by a single-step now).
  Status resume_from_breakpoint(const Stop& stop);
  // Whether the instruction displaced by the breakpoint a thread stopped at is a conditional
  // jump that its flags make jump.
  bool breakpoint_branches(const Stop& stop) const;

  // Stops every running thread and waits until all are stopped (gorepro debug holds the
  // program this way). Threads that hit a breakpoint meanwhile stay stopped on it: their hits
  // are returned, to be decoded and resumed with resume_from_breakpoint like any other.
  // Signals that arrive meanwhile are kept for resume_all. Fails when the program exits.
  Result<std::vector<Stop>> stop_all();
  // SIGKILLs the program and reaps it; returns its exit stop.
  Stop kill_and_wait();

  // Stops every thread, restores every original byte, detaches; the target runs on as if never
  // traced. Safe to call more than once and after the process is gone.
  Status detach();
  bool alive() const { return alive_; }
  // How the process ended, once its leader's exit has been reaped — by wait(), a single-step or
  // detach() — so the status is never lost whichever of them saw it.
  const std::optional<Stop>& exit_stop() const { return exit_stop_; }
  // Hits resumed by a single-step with the breakpoint lifted (instruction not emulated): while
  // lifted, another thread passing the same address is not seen.
  uint64_t unemulated_steps() const { return unemulated_steps_; }
  // Threads caught in one of our int3s while detaching (or adopting): moved on, SIGTRAP swallowed.
  uint64_t traps_caught() const { return traps_caught_; }
  // adopt(): threads put back from one byte into an instruction, and from a SIGTRAP handler's entry.
  uint64_t threads_put_back() const { return threads_put_back_; }
  uint64_t frames_undone() const { return frames_undone_; }

 private:
  struct Thread {
    bool stopped = false;       // in a ptrace-stop we have not resumed yet
    int pending_signal = 0;     // to deliver when resumed / detached
    bool moved_past = false;    // stopped on our int3, registers already past its instruction
    bool trapped = false;       // stopped on our int3 by wait(), registers still one byte past it
  };
  Tracee() = default;
  Status poke_byte(uint64_t addr, uint8_t value);
  std::optional<uint8_t> peek_byte(uint64_t addr);
  void cont(pid_t tid, int sig);
  bool all_stopped() const;
  Status step_over_unemulated(pid_t tid, const Breakpoint& bp);
  // A thread's int3 stop was just collected (regs: RIP at the breakpoint): sets its registers
  // past the displaced instruction (emulated; true) or back at it (false).
  bool move_past(pid_t tid, const Registers& regs, const Breakpoint& bp);
  // A thread reported a SIGTRAP stop: if the trap is one of our int3s (SI_KERNEL, RIP one past
  // a breakpoint), moves it past and returns its hit — the signal must then not be delivered.
  std::optional<Stop> catch_trap(pid_t tid);
  // adopt(): a stopped thread left by a dead tracer one byte into an instruction, or at the
  // entry of the SIGTRAP handler the kernel set up for it, goes back to the instruction.
  void put_back(pid_t tid, bool left_in_int3);
  bool undo_trap_frame(pid_t tid, const Registers& at_handler);
  Status write_byte(uint64_t address, uint8_t original, uint8_t value);  // guard, then poke
  Status detach_threads();
  // Handles a stop internally when it needs no caller action; returns true if handled.
  bool handle_internal(pid_t tid, int status, Stop* out);
  // With the exit_group caller held at its exit stop: collects every other thread's exit stop
  // (exit_regs_), for at most a second.
  void gather_exits(pid_t exiting);
  void read_entry_address();

  pid_t pid_ = 0;
  bool launched_ = false;
  bool alive_ = true;
  // A write to the code found no thread still in its stop (ESRCH from each): the process is in
  // exit_group, whose SIGKILL ends ptrace stops. Its exit comes with the next wait().
  bool exiting_ = false;
  bool detached_ = false;
  bool stop_at_exit_ = false;
  bool exit_reported_ = false;  // the kExiting stop was returned
  bool gathering_ = false;      // inside gather_exits
  std::map<pid_t, Registers> exit_regs_;
  uint64_t entry_address_ = 0;
  std::map<pid_t, Thread> threads_;
  std::map<uint64_t, Breakpoint> breakpoints_;
  std::map<uint64_t, uint8_t> patched_;  // address -> original byte
  uint64_t unemulated_steps_ = 0;
  uint64_t traps_caught_ = 0;
  uint64_t threads_put_back_ = 0;
  uint64_t frames_undone_ = 0;
  GuardTable* guard_ = nullptr;
  // A stop for the caller that arrived while waiting for something else (the process exiting
  // during a single-step); wait() returns it first.
  std::optional<Stop> pending_stop_;
  std::optional<Stop> exit_stop_;
  // Records the leader's exit status; returns the kExited stop.
  Stop record_exit(pid_t tid, int status);
};

// Which process is tracing pid (from /proc/PID/status), or 0.
pid_t tracer_of(pid_t pid);
std::string process_name(pid_t pid);
// The program's entry point in memory (AT_ENTRY of /proc/PID/auxv), or 0 when unreadable.
uint64_t entry_address_of(pid_t pid);
// The state letter of /proc/PID/stat ('R', 'S', 't', 'Z', ...), or 0 when there is no such process.
char process_state(pid_t pid);

}  // namespace gorepro::tracer
