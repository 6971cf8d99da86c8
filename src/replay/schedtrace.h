// Schedtrace: the Go runtime's own scheduler dump (GODEBUG=schedtrace=MS[,scheddetail=1]) as
// data. SchedSample is one parsed `SCHED` block — its header line, and with scheddetail its P,
// M and G lines; parse_sched_block() is strict (a block cut short or interleaved with other
// output is an error, never a half-right sample); SchedStreamSplitter separates such blocks
// from everything else in a byte stream (the program's stderr or a log file), passing every
// other byte through unchanged and in order.
//
// Formats (runtime/proc.go, func schedtrace), Go 1.19 to 1.23:
//   SCHED 12ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 [needspinning=0 (1.21+)]
//       idlethreads=2 runqueue=0 [0 0]                                   (without scheddetail)
//     ... runqueue=0 gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0  (with; 1.21+: true/false)
//     P0: status=1 schedtick=3 syscalltick=0 m=0 runqsize=0 gfreecnt=0 timerslen=0
//     M0: p=0 curg=1 mallocing=0 throwing=0 preemptoff= locks=1 dying=0 spinning=false
//         blocked=false lockedg=1
//     G1: status=4(chan receive) m=nil lockedm=nil
// "No P/M/G" is -1 in 1.19 and nil from 1.21; both parse to -1. preemptoff is a free string
// (may hold spaces). Fields this code does not know are kept in `extra`, never an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace gorepro::replay {

// key=value pairs as printed, for fields a newer runtime may add.
using SchedExtra = std::vector<std::pair<std::string, std::string>>;

struct SchedHeader {
  uint64_t ms = 0;  // since the runtime's first schedtrace call (truncated to whole ms)
  int64_t gomaxprocs = -1, idleprocs = -1, threads = -1, spinningthreads = -1;
  int64_t needspinning = -1;  // Go 1.21+; -1 when absent
  int64_t idlethreads = -1, runqueue = -1;
  // scheddetail only (-1 otherwise); booleans (1.21+) are 0/1.
  int64_t gcwaiting = -1, nmidlelocked = -1, stopwait = -1, sysmonwait = -1;
  std::vector<int64_t> local_runqueues;  // without scheddetail: per-P run-queue lengths
  std::vector<int64_t> schedticks;       // without scheddetail, Go 1.26+: per-P schedtick
  SchedExtra extra;
  bool operator==(const SchedHeader&) const = default;
};

struct SchedP {
  int64_t id = -1, status = -1, schedtick = -1, syscalltick = -1;
  int64_t m = -1;  // -1: none
  int64_t runqsize = -1, gfreecnt = -1, timerslen = -1;
  SchedExtra extra;
  bool operator==(const SchedP&) const = default;
};

struct SchedM {
  int64_t id = -1;
  int64_t p = -1, curg = -1;  // -1: none
  int64_t mallocing = -1, throwing = -1;
  std::string preemptoff;
  int64_t locks = -1, dying = -1;
  int64_t spinning = -1, blocked = -1;  // 0/1
  int64_t lockedg = -1;
  SchedExtra extra;
  bool operator==(const SchedM&) const = default;
};

// The runtime's goroutine status, as printed by readgstatus (may carry _Gscan = 0x1000).
enum class RuntimeClass : uint8_t { Idle, Runnable, Running, Syscall, Waiting, Dead, Other };
std::string_view runtime_class_name(RuntimeClass c);

struct SchedG {
  uint64_t goid = 0;
  uint32_t status = 0;      // raw, as printed
  std::string wait_reason;  // as printed; the runtime leaves it set after a wake, so it only
                            // means something while status is waiting
  int64_t m = -1, lockedm = -1;
  SchedExtra extra;
  // _Gidle 0, _Grunnable 1, _Grunning 2, _Gsyscall 3, _Gwaiting 4, _Gdead 6, _Gcopystack 8,
  // _Gpreempted 9 — the same numbers in every supported Go version (runtime2.go).
  RuntimeClass runtime_class() const;
  bool operator==(const SchedG&) const = default;
};

struct SchedSample {
  SchedHeader header;
  bool detailed = false;  // scheddetail: P, M and G lines follow
  std::vector<SchedP> ps;
  std::vector<SchedM> ms;
  std::vector<SchedG> gs;
  // Goroutines the runtime counts as existing (every G line whose status is not idle/dead).
  size_t live_goroutines() const;
  bool operator==(const SchedSample&) const = default;
};

// Parses one block: the header line and (scheddetail) its P, M, G lines, each ending in '\n'.
// Errors name the line and what is wrong with it.
Result<SchedSample> parse_sched_block(std::string_view text);

// Splits a byte stream into SCHED blocks and everything else. Feed it bytes as they arrive;
// it hands back, in stream order, runs of passthrough bytes (exactly as received) and complete
// blocks. A line is held back only while it could still be the start of a SCHED line (or, inside
// a block, of a P/M/G line); anything else passes at once, so binary output and prompts without
// a newline are not delayed. A block ends at the first line that does not continue it, at
// idle() or at finish(). A block that does not parse (cut short, or another writer's bytes
// inside it) is passed through as ordinary bytes and counted: no byte of the stream is lost,
// and no sample is half-right.
class SchedStreamSplitter {
 public:
  struct Block {
    std::string text;
    uint64_t first_ns = 0;  // arrival of its first byte (the time given to feed)
    uint64_t last_ns = 0;   // arrival of its last byte
  };
  struct Output {
    std::string passthrough;  // bytes for the user's stderr, in order
    std::vector<Block> blocks;
    // Order of the two above, for callers that must interleave them: passthrough bytes before
    // block i are passthrough[0 .. cut[i]).
    std::vector<size_t> cut;
    // The runtime's bytes of a dump the stream ended inside (the program exited mid-dump) that
    // are in no block: SCHED output, for the user only when SCHED blocks are shown.
    std::string unrecorded;
  };

  // Appends what the bytes complete to out.
  void feed(std::string_view bytes, uint64_t now_ns, Output& out);
  // No bytes arrived for a while: close an open block at a line boundary, release a held line
  // that is not a SCHED line.
  void idle(Output& out);
  // End of stream: everything still held is decided. A dump the stream ended inside is the
  // runtime's cut short: recorded if what was printed parses, never passed through.
  void finish(Output& out);

  uint64_t blocks_parsed() const { return parsed_; }
  uint64_t blocks_skipped() const { return skipped_; }  // did not parse: passed through
  uint64_t blocks_cut_short() const { return cut_short_; }  // the stream ended inside them
  const std::string& last_skip_reason() const { return last_skip_; }

 private:
  enum class LineKind { Undecided, Header, Continuation, Other };
  LineKind classify(std::string_view partial, bool complete) const;
  void end_line(Output& out);
  void close_block(Output& out);
  void pass(std::string_view bytes, Output& out);

  std::string line_;       // the current line so far (held while undecided)
  bool passing_ = false;   // the current line is not ours: bytes go straight through
  bool in_block_ = false;
  Block block_;
  uint64_t line_first_ns_ = 0;
  uint64_t parsed_ = 0, skipped_ = 0, cut_short_ = 0;
  std::string last_skip_;
};

// Reads a whole log (e.g. `GODEBUG=schedtrace=10,scheddetail=1 ./prog 2>log`): its blocks
// in order, with no arrival times. skipped counts blocks that did not parse.
struct SchedLog {
  std::vector<SchedSample> samples;
  std::vector<std::string> texts;
  uint64_t skipped = 0;
};
SchedLog split_sched_log(std::string_view bytes);

}  // namespace gorepro::replay
