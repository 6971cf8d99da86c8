// RuntimeOutputCapture: what a launched Go program's runtime prints — GODEBUG=schedtrace blocks
// among it — read from a pipe by a thread of its own. The recording loop blocks in waitpid, so
// it cannot also read the pipe; were nobody reading, a full pipe would block the target inside
// the scheduler dump (holding sched.lock). The thread splits the stream
// (replay::SchedStreamSplitter): SCHED blocks are queued, stamped with the CLOCK_MONOTONIC
// arrival of their first and last byte, for the recording thread to append as events (the
// writer stays single-threaded); every other byte goes on to gorepro's own stderr unchanged and
// in order, SCHED blocks too when asked.
//
// Invariants: the thread never blocks signals' delivery to the recording thread (it blocks all
// signals itself); every byte read is forwarded or queued, none dropped, unless gorepro's own
// stderr is gone (then output is discarded so the target never blocks on us), or they are the
// runtime's own, of a dump the program exited in the middle of (SCHED output, shown only when
// blocks are).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "replay/schedtrace.h"
#include "util/result.h"

namespace gorepro::tracer {

class RuntimeOutputCapture {
 public:
  struct Options {
    int forward_fd = 2;        // where everything but SCHED blocks goes
    bool show_blocks = false;  // forward SCHED blocks too
  };
  using Block = replay::SchedStreamSplitter::Block;

  // Creates the pipe. Give write_end() to the program (LaunchOptions::fds), then start().
  static Result<std::unique_ptr<RuntimeOutputCapture>> create(Options options);
  ~RuntimeOutputCapture();  // finishes (without grace) if finish() was not called

  int write_end() const { return write_fd_; }
  // Closes gorepro's copy of the write end (after launch) and starts the reader thread.
  void start();

  // Recording thread: takes the queued blocks whose first byte arrived at or before
  // up_to_ns, oldest first.
  std::vector<Block> take(uint64_t up_to_ns);
  bool has_blocks() const { return queued_.load(std::memory_order_acquire) > 0; }

  // The program is gone (or no longer writes here): read until end of file, or until nothing
  // has arrived for `silence_ns` (a child of the program may hold the pipe open), then stop.
  void finish(uint64_t silence_ns);

  // Recording thread: the tracer saw the runtime begin (true) or end a dump. While one is in
  // progress a pause in its bytes is the tracer holding the dumping thread, not the end of the
  // block, so the reader does not close the block for silence.
  void set_dump_in_progress(bool on) { dump_in_progress_.store(on, std::memory_order_release); }

  uint64_t blocks_parsed() const { return parsed_.load(); }
  uint64_t blocks_skipped() const { return skipped_.load(); }
  uint64_t blocks_cut_short() const { return cut_short_.load(); }  // by the program's exit
  uint64_t bytes_read() const { return bytes_.load(); }

 private:
  RuntimeOutputCapture() = default;
  void run();
  void forward(const replay::SchedStreamSplitter::Output& out);
  void write_out(const char* data, size_t size);

  Options options_;
  int read_fd_ = -1, write_fd_ = -1, wake_fd_ = -1;  // wake_fd_: eventfd that asks the thread to finish
  std::thread thread_;
  std::atomic<uint64_t> silence_ns_{0};  // set by finish()
  std::atomic<bool> finishing_{false};
  std::atomic<bool> dump_in_progress_{false};
  std::mutex mu_;
  std::deque<Block> queue_;  // guarded by mu_
  std::atomic<size_t> queued_{0};
  std::atomic<uint64_t> parsed_{0}, skipped_{0}, cut_short_{0}, bytes_{0};
  bool forward_broken_ = false;  // reader thread only
};

}  // namespace gorepro::tracer
