// GatedChild: a program forked and held just before its exec, so that whatever will trace it —
// ptrace's PTRACE_SEIZE, or gdb's attach — takes hold of it first; opening the gate execs the
// program, whose first instruction is then the first thing the tracer sees. The child gets the
// LaunchOptions' environment and descriptors and stays in gorepro's process group (a terminal's
// Ctrl-C reaches it as it would reach the program run from the shell).
//
// Invariants: before the gate opens, only async-signal-safe code runs in the child, in
// gorepro's image; a failed exec (or descriptor setup) is reported through error_fd as the
// child's errno, never as output of its own.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "tracer/launch_options.h"
#include "util/result.h"

namespace gorepro::tracer {

class GatedChild {
 public:
  // Forks; the child waits at the gate. path is already resolved; argv[0] included.
  static Result<GatedChild> spawn(const std::string& path, const std::vector<std::string>& argv,
                                  const LaunchOptions& options);
  GatedChild(GatedChild&& o) noexcept;
  GatedChild& operator=(GatedChild&&) = delete;
  ~GatedChild();

  pid_t pid() const { return pid_; }
  // Lets the child exec the program (once).
  void open_gate();
  // Once the child exited without running the program: the errno of the exec (or dup2) that
  // failed. nullopt when it said nothing (it did exec, or was killed first).
  std::optional<int> exec_errno();

 private:
  GatedChild() = default;
  pid_t pid_ = -1;
  int gate_fd_ = -1;   // write end: one byte opens the gate
  int error_fd_ = -1;  // read end: the child's errno when it could not exec
};

}  // namespace gorepro::tracer
