// MiClient: one gdb child process spoken to in GDB/MI 3 — the transport (Boost.Process starts
// `gdb --interpreter=mi3 --nx -q`; Boost.Asio reads its output) and the protocol (every command
// carries a token; its `^` result completes exactly the command with that token; `*stopped`,
// `*running`, `=thread-…` and the other async records are routed apart, in arrival order).
// Learned from VS Code's MIEngine (MICore/Debugger.cs: a table of waiting commands keyed by token,
// all failed when gdb dies) and pygdbmi; see mi_parser.h for the grammar.
//
// Threads: the client is driven by the thread that owns it — command(), wait() and next_async()
// run the I/O while they wait; nothing runs in the background. wake() is the one call that is
// safe from another thread or a signal handler: it makes the current (or next) wait return.
//
// Invariants:
//  - every failure is one Error that says what happened to gdb: not installed, too old for MI 3,
//    hung (a command's timeout passed), or dead (every pending command fails with its exit
//    status and the last lines it wrote on stderr);
//  - gdb's MI channel carries only MI: the program gdb debugs gets its own terminal or files
//    (attach, or -inferior-tty-set), so a line that is not MI is counted as a protocol error,
//    never taken for program output;
//  - gdb runs in its own process group: the terminal's Ctrl-C reaches gorepro and the program,
//    never gdb (which would otherwise stop the program on its own);
//  - writing to a dead gdb is an Error, never a SIGPIPE (gdb's stdin is a socket written with
//    MSG_NOSIGNAL; gorepro's signal dispositions stay untouched, so programs it starts inherit
//    none of them).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gdbmi/mi_parser.h"
#include "util/result.h"

namespace gorepro::gdbmi {

using Clock = std::chrono::steady_clock;

struct MiClientOptions {
  // A name searched on PATH, or a path.
  std::string gdb = "gdb";
  // A file that receives every command sent ("> ") and line received ("< "), for diagnosing
  // gdb's side of a problem. Default: $GOREPRO_GDB_LOG when set.
  std::string log_path;
  // The MI version asked for. gorepro needs 3 (gdb >= 9); another value only serves tests of
  // how a gdb that does not know the version asked for is reported.
  std::string interpreter = "mi3";
  std::chrono::milliseconds start_timeout{20'000};
  std::chrono::milliseconds default_timeout{20'000};
};

// The answer to one command: its result record (`^done`, `^running`, `^connected`, `^exit`) and
// the console and log text gdb printed while running it (what a CLI command says).
struct MiAnswer {
  MiRecord result;
  std::string console;
  std::string log;
};

// "GNU gdb (Debian 13.1-3) 13.1" → {13, 1}: the last dotted number on the line.
std::optional<std::pair<int, int>> parse_gdb_version(std::string_view banner);
constexpr int kMinGdbMajor = 9;  // the first gdb with MI 3

class MiClient {
 public:
  // Starts gdb and waits for it to be ready; checks that it speaks MI 3 and is gdb >= 9.
  static Result<std::unique_ptr<MiClient>> start(const MiClientOptions& options = {});
  // Asks gdb to exit (-gdb-exit), and kills it if it does not within a second.
  ~MiClient();
  MiClient(const MiClient&) = delete;
  MiClient& operator=(const MiClient&) = delete;

  // Sends one MI or CLI command (no token, no newline: the client adds both) and waits for its
  // result. `^error` is an Error carrying gdb's message.
  Result<MiAnswer> command(std::string_view cmd, std::optional<std::chrono::milliseconds> timeout = {});
  // The same in two steps, so several commands can be in flight (gdb answers them in order).
  Result<uint64_t> send(std::string_view cmd);
  Result<MiAnswer> wait(uint64_t token, Clock::time_point deadline);
  // Sends a command whose answer nobody waits for (resuming a thread after each probe hit):
  // its result is dropped, an `^error` kept for take_nowait_errors().
  Status send_nowait(std::string_view cmd);
  struct NowaitError {
    std::string command;
    std::string message;  // gdb's
  };
  // `^error` answers to send_nowait() commands since the last call, oldest first.
  std::vector<NowaitError> take_nowait_errors();

  // The next async record (and stream records printed while no command ran), in arrival
  // order; waits until deadline. nullopt: none arrived in time, wake() was called, or gdb is
  // gone (failure() says why).
  std::optional<MiRecord> next_async(Clock::time_point deadline);
  // Async records already received, without waiting or reading.
  bool has_async() const { return !async_.empty(); }
  // Reads whatever gdb has written so far without blocking.
  void poll();

  // Async-signal-safe and thread-safe: the current or next wait returns early.
  void wake();

  bool alive() const { return !failure_.has_value(); }
  // Why gdb is gone or unusable, once it is.
  const std::optional<Error>& failure() const { return failure_; }
  pid_t gdb_pid() const;
  const std::string& version() const { return version_; }  // "13.1"
  // Lines on the MI channel that were not MI (or answered no command we sent).
  uint64_t protocol_errors() const { return protocol_errors_; }
  const std::string& last_protocol_error() const { return last_protocol_error_; }
  // The last lines gdb wrote on its stderr (for error messages).
  std::string stderr_tail() const;

  // Commands whose answer did not come in time, so far.
  uint64_t timeouts() const { return timeouts_; }
  // Whether a command sent (send_nowait()'s included) has waited longer than limit for its answer.
  bool overdue(std::chrono::milliseconds limit) const;
  // Whether commands are waiting for an answer.
  bool busy() const { return !pending_.empty(); }
  // When gdb last wrote anything.
  Clock::time_point last_output() const { return last_output_; }
  // Ends gdb (SIGKILL) because of why, which becomes failure(): for a gdb found hung.
  void give_up(Error why);

  // Sends SIGINT to gdb: interrupts a gdb stuck in a command (not the program).
  void interrupt_gdb();
  // Ends gdb now (SIGKILL) and fails every pending command; the program gdb was attached to is
  // detached by the kernel, with whatever gdb left in its memory.
  void kill();

 private:
  struct Impl;
  struct Pending {
    std::string command;
    MiAnswer answer;
    bool nowait = false;  // send_nowait(): drop the answer, keep an error
    Clock::time_point sent = Clock::now();
  };
  explicit MiClient(std::unique_ptr<Impl> impl);
  // Runs the I/O until pred() holds, the deadline passes, wake() or gdb dies; returns pred().
  // wakeable: wake() also ends the wait.
  template <class Pred>
  bool run_until(Pred pred, Clock::time_point deadline, bool wakeable);
  void start_reading();
  void on_output(std::string_view bytes);
  void on_record(MiRecord record);
  void on_gdb_gone(const std::string& why);
  void protocol_error(std::string what);
  Error gone_error(const std::string& command) const;

  std::unique_ptr<Impl> impl_;
  MiParser parser_;
  uint64_t next_token_ = 1;
  std::map<uint64_t, Pending> pending_;      // sent, not answered yet: gdb answers in order
  std::map<uint64_t, Pending> answered_;     // answered, not collected by wait() yet
  std::set<uint64_t> abandoned_;             // timed out: a late answer is dropped quietly
  std::deque<MiRecord> async_;
  std::vector<NowaitError> nowait_errors_;
  std::optional<Error> failure_;
  bool prompt_seen_ = false;  // gdb printed `(gdb)`: it reads commands
  std::string version_;
  uint64_t protocol_errors_ = 0;
  uint64_t timeouts_ = 0;
  Clock::time_point last_output_ = Clock::now();
  std::string last_protocol_error_;
  std::chrono::milliseconds default_timeout_{20'000};
  std::string gdb_path_;
};

}  // namespace gorepro::gdbmi
