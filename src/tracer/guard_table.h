// GuardTable: every byte a recording writes into an attached program's memory (int3s, patches),
// kept in memory shared with the guardian process (tracer/guardian.h) and entered there *before*
// the byte is written, so that whenever the recorder dies the guardian knows every byte that may
// be in the program and what was there before.
//
// One writer — the recorder's Tracee — and one reader — the guardian, which reads only once the
// writer is dead (its end of a pipe closed), so the two never run at the same time and the table
// needs no lock. A byte entered but not yet written when the writer died still holds the
// original, which the guardian recognises and leaves alone.
//
// Invariants: entries are in the order the bytes were written (an address written twice appears
// twice: undone last-first, that restores the first original); after let_go() the guardian does
// nothing; the table lives in anonymous shared memory inherited by every process forked after
// create(), and nothing else.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "util/result.h"

namespace gorepro::tracer {

class GuardTable {
 public:
  struct Entry {
    uint64_t address = 0;
    uint8_t original = 0;  // the program's byte
    uint8_t written = 0;   // ours (0xcc for a breakpoint)
  };

  static Result<std::unique_ptr<GuardTable>> create();
  ~GuardTable();
  GuardTable(const GuardTable&) = delete;
  GuardTable& operator=(const GuardTable&) = delete;

  // The writer (recorder) side.
  void attaching(pid_t pid);  // before the first thread is seized; forgets any earlier state
  Status will_write(uint64_t address, uint8_t original, uint8_t written);
  void forget_bytes();        // the program exec'd: the bytes went with its old image
  void let_go();              // every byte is back and every thread detached, or the program is gone

  // The reader (guardian) side, once the writer is dead.
  pid_t pid() const;
  // The program attached to is still running: its pid names the same process (not one that
  // reuses the pid) and it has not exited (a zombie has).
  bool program_running() const;
  // Attached, not let go, and some byte entered: the program may hold bytes of ours.
  bool holds_bytes() const;
  std::vector<Entry> entries() const;
  uint64_t generation() const;  // how many changes the writer made (reports, tests)

 private:
  struct Shared;
  explicit GuardTable(Shared* shared) : s_(shared) {}
  Shared* s_;
};

}  // namespace gorepro::tracer
