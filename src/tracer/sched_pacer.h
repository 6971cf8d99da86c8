// SchedPacer: keeps the runtime's scheduler dumps (GODEBUG=schedtrace, which `record
// --schedtrace` turns on) from starving the program. The runtime holds sched.lock through a
// whole dump and sysmon starts the next one `schedtrace` ms after the last one *began*: a dump
// that takes longer than the interval (scheddetail lists every g ever made — 20,000 lines take
// ~0.13 s natively) leaves the program only the gaps. After each dump the pacer sets the
// runtime's own interval (runtime.debug.schedtrace, found through the runtime's table of GODEBUG
// settings) to max(asked, dump time / (1 - kProgramShare)), so dumps take at most
// 1 - kProgramShare of the wall time, and lowers it again when dumps get cheaper.
//
// Invariants: it writes only that int32, only while it holds the value it saw or wrote last
// (a program that changes its own GODEBUG takes over, and pacing stops); never below the
// interval asked for. Recording thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace gorepro::tracer {

class SchedPacer {
 public:
  // Dumps may take at most 1 - kProgramShare of the time: the program runs at least 80% of it.
  static constexpr double kProgramShare = 0.8;

  // setting: run-time address of runtime.debug.schedtrace (0: unknown, pacing off).
  SchedPacer(pid_t pid, uint64_t setting, int asked_ms) : pid_(pid), setting_(setting), asked_ms_(asked_ms), now_ms_(asked_ms) {}

  // The interval that keeps a dump of dump_ns within its share, never below asked_ms.
  static int interval_for(uint64_t dump_ns, int asked_ms);

  // A dump ran from begin_ns to end_ns: returns the interval set now (ms) when it changed, else 0.
  int dump_ended(uint64_t begin_ns, uint64_t end_ns);

  // The program runs on without gorepro (a detach): puts back the interval it was launched with,
  // where the runtime still holds the one the pacer wrote. True when it wrote.
  bool restore();

  int asked_ms() const { return asked_ms_; }
  int max_ms() const { return max_ms_; }           // the longest interval set (0: none)
  uint64_t changes() const { return changes_; }    // writes made
  uint64_t longest_dump_ns() const { return longest_dump_ns_; }
  const std::string& off_reason() const { return off_; }  // why pacing stopped ("" while on)

 private:
  bool read(int32_t* v) const;
  bool write(int32_t v) const;

  pid_t pid_;
  uint64_t setting_;
  int asked_ms_;
  int now_ms_;        // the value the runtime holds, as far as we know
  bool checked_ = false;
  int max_ms_ = 0;
  uint64_t changes_ = 0;
  uint64_t longest_dump_ns_ = 0;
  std::string off_;
};

}  // namespace gorepro::tracer
