// ReadAhead: one batch of reads of a stopped process's memory (TargetMemory::read_many) under
// way on a second thread while the caller works on something else — the verdict scan reads the
// next heap window into one buffer while it marks from the other. The process is stopped, so
// bytes read early are the bytes read late.
//
// Invariants: at most one batch is under way; its buffers belong to the reader from start() until
// wait() returns, and wait() is the hand-over (all the reader wrote is visible to the caller
// after it). A memory view that cannot be read from two threads at once
// (TargetMemory::concurrent_reads) is read inside start(), on the caller's thread.
#pragma once

#include <future>
#include <vector>

#include "util/target_memory.h"

namespace gorepro::verdict {

class ReadAhead {
 public:
  explicit ReadAhead(const TargetMemory& memory) : mem_(memory) {}
  ~ReadAhead() { wait(); }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Starts reading every range (none may be under way).
  void start(std::vector<ReadRange> ranges);
  bool busy() const { return busy_; }
  // Waits for the batch started last; returns how many of its ranges could not be read (they
  // are zero-filled), as read_many does. 0 when none is under way.
  size_t wait();

 private:
  const TargetMemory& mem_;
  std::vector<ReadRange> ranges_;  // the reader's while busy_
  std::future<size_t> done_;
  size_t failed_ = 0;
  bool busy_ = false;
};

}  // namespace gorepro::verdict
