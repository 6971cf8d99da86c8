// Guardian: an attached program survives gorepro being killed (SIGKILL, the OOM killer, a crash).
// A ptrace tracer that dies leaves its int3s in the program's code, and the kernel lets the
// program's threads go at once: the next probe hit, or a stop gorepro had not yet collected,
// delivers a SIGTRAP and the Go runtime dies of it ("SIGTRAP: trace trap"). Nothing gorepro can
// do after a SIGKILL reaches it helps, so `record --pid` splits into two processes:
//
//  - the supervisor, the gorepro process the user started and sees: it never traces. It forks
//    the recorder, passes SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 on to it, and exits with
//    its status. If the supervisor is killed, the recorder gets SIGTERM (PR_SET_PDEATHSIG) and
//    detaches as on Ctrl-C, every byte back and every thread let go: nothing is left behind.
//  - the recorder does the whole recording, in a process group of its own (a signal to the user's
//    process group does not reach it). Its Tracee enters every byte in a GuardTable before
//    writing it. If the recorder itself dies holding bytes, the supervisor is its guardian: it
//    traces the recorder for its exit only (PTRACE_O_TRACEEXIT), so it is woken at the very start
//    of the recorder's death — before the kernel has released the traced threads — and writes
//    the original bytes back through /proc/PID/mem. Threads the recorder leaves in its int3 stops
//    get a SIGSTOP first, so each stops before running the program's code. Once the recorder is
//    gone it seizes the program (Tracee::adopt), puts those threads back at their instruction,
//    catches any thread that ran into an int3 and has not taken the SIGTRAP yet (signal
//    swallowed), detaches, and sends SIGCONT if it stopped the program. When something else
//    already traces the recorder (strace -f), it is woken by a pipe closing instead: hundreds of
//    µs later, racing with the kernel releasing the threads (docs/tracer-death.md).
//
// What a dead recorder can still cost the program — a stop it had not collected, a hit between
// its death and the guardian's write — is measured in docs/tracer-death.md.
//
// Invariants: the guardian touches the program only if the recorder died holding bytes (the
// table says so), and changes a byte only where it still holds the recorder's value; neither
// process outlives the recording: the supervisor returns once the recorder has exited (after the
// rescue, if one was needed), and the recorder exits when its recording ends.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "tracer/guard_table.h"
#include "util/result.h"

namespace gorepro::tracer {

// What the supervisor saw of a guarded recording.
struct GuardedRun {
  pid_t recorder = 0;
  int exit_code = 0;   // the recorder's exit status, or 128 + the signal that ended it
  int killed_by = 0;   // that signal, if one did
  // The recorder died holding bytes in the program, and the guardian acted:
  bool rescued = false;
  size_t bytes_restored = 0;  // written back (through /proc/PID/mem, else by ptrace)
  size_t bytes_already = 0;   // already held the original
  uint64_t write_back_us = 0; // from seeing the recorder die to the last byte written back
  size_t traps_caught = 0;    // threads caught in an int3 before taking its SIGTRAP
  bool froze = false;         // the recorder left threads in its int3 stops: the program was stopped
  size_t threads_put_back = 0;  // ... and those threads put back at their instruction,
  size_t frames_undone = 0;     // of which these from the entry of the program's SIGTRAP handler
  bool program_alive = true;  // the program ran on after the rescue
  std::string rescue_error;   // what the rescue could not do
};

// Runs `record` — a whole recording attached to `pid`, returning gorepro's exit code — in a
// recorder process, with this process as its supervisor and guardian (see above); `table` must be
// the one the recording's backend writes to (Backend::guard_bytes). Returns once the recorder has
// exited; errors are failures to start it.
Result<GuardedRun> run_guarded(pid_t pid, GuardTable& table, const std::function<int()>& record);

}  // namespace gorepro::tracer
