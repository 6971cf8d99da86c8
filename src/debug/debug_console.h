// DebugConsole: the commands of `gorepro debug` — a debugger's verbs over a *live* Go program,
// through any Backend that can hold it (LiveTarget: ptrace, gdb). The program runs only during
// `continue`; it is held (every thread stopped) at the breakpoints — a goroutine created at a go
// statement, parked at a site or for a wait reason — or when a person presses Ctrl-C. Everything
// the probes saw is written to a trace as it happens (`record FILE` saves a complete copy), and
// a goroutine table kept from those events answers `goroutines`, `goroutine N` and `sites`.
// The prompt, scripts and the terminal belong to the CLI, which feeds it one line at a time,
// like ReplayConsole; replies use the same ConsoleReply.
//
// Invariants: the backend is only polled while the program runs and only resumed while held;
// when the console ends, an attached program is detached (it runs on) and a launched one that
// is still held is killed, as gdb's quit does.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dwarf/go_binary.h"
#include "replay/goroutine_table.h"
#include "replay/replay_console.h"
#include "replay/site_pattern.h"
#include "replay/trace_symbols.h"
#include "replay/trace_writer.h"
#include "tracer/backend.h"
#include "util/result.h"

namespace gorepro::debug {

struct DebugOptions {
  pid_t pid = 0;                     // attach when non-zero ...
  std::vector<std::string> command;  // ... else launch PROGRAM ARGS (path already resolved in [0])
  std::string program_path;          // the executable (resolved)
  int stack_depth = 32;
  bool json = false;                 // one JSON object per command
  std::string scratch_trace;         // where the session's trace is written as it happens
};

class DebugConsole {
 public:
  // Launches (held before its first instruction) or attaches (held at once) and places the
  // probes; the program runs at the first `continue`.
  static Result<std::unique_ptr<DebugConsole>> start(tracer::Backend& backend, const GoBinary& binary,
                                                     const DebugOptions& options);
  ~DebugConsole();

  replay::ConsoleReply execute(std::string_view line);
  std::string prompt() const;
  // A line saying what is being debugged and how to begin, for the interactive prompt.
  std::string banner() const;
  static std::vector<std::string> command_words();
  // Ctrl-C while `continue` runs: hold the program (safe from a signal handler).
  void request_hold() { live_.request_hold(); }
  // `gorepro debug`'s exit status once the session ended: the program's own when it exited.
  int exit_status() const;

  struct Command;  // one verb: names, usage, help, handler (debug_console.cpp)

 private:
  enum class State { kHeld, kExited, kDetached };
  struct Breakpoint {
    int id = 0;
    std::string kind;                  // create | park | block
    std::optional<replay::SitePattern> site;  // create/park; none = any
    std::string reason;                // block
    std::string text() const;
  };
  class Sink;
  using Args = std::vector<std::string>;

  DebugConsole(tracer::Backend& backend, tracer::LiveTarget& live, const GoBinary& binary, const DebugOptions& o);
  static const std::vector<Command>& commands();
  replay::ConsoleReply cmd_break(const Args& a);
  replay::ConsoleReply cmd_delete(const Args& a);
  replay::ConsoleReply cmd_breaks(const Args& a);
  replay::ConsoleReply cmd_continue(const Args& a);
  replay::ConsoleReply cmd_goroutines(const Args& a);
  replay::ConsoleReply cmd_goroutine(const Args& a);
  replay::ConsoleReply cmd_sites(const Args& a);
  replay::ConsoleReply cmd_where(const Args& a);
  replay::ConsoleReply cmd_gdb(const Args& a, std::string_view rest);
  replay::ConsoleReply cmd_verdicts(const Args& a);
  replay::ConsoleReply cmd_record(const Args& a);
  replay::ConsoleReply cmd_detach(const Args& a);
  replay::ConsoleReply cmd_kill(const Args& a);
  replay::ConsoleReply cmd_help(const Args& a);

  bool matches(const Breakpoint& b, const replay::Event& e) const;
  // Goroutines created so far at the go statement of create event e.
  uint64_t site_count(const replay::Event& e) const;
  std::span<const uint64_t> stack(replay::StackId id) const;
  // The hold's event as text or JSON (summary, creation/block stack, count at its site).
  std::string describe(const replay::Event& e) const;
  nlohmann::json event_json(const replay::Event& e) const;
  replay::ConsoleReply ended_reply(const std::string& what);
  replay::ConsoleReply reply(const std::string& command, nlohmann::json fields, std::string text) const;
  bool is_runtime(const replay::Goroutine& g) const;
  uint64_t now_ns() const;

  tracer::Backend& backend_;
  tracer::LiveTarget& live_;
  const GoBinary& binary_;
  DebugOptions options_;
  replay::TraceSymbols symbols_;
  std::unique_ptr<replay::TraceWriter> writer_;
  std::unique_ptr<Sink> sink_;
  replay::GoroutineTable table_;
  std::vector<std::vector<uint64_t>> stacks_;  // by stack id (the writer's)
  std::vector<Breakpoint> breakpoints_;
  int next_breakpoint_ = 1;
  State state_ = State::kHeld;
  std::optional<replay::Event> held_at_;   // the event the program is held at, if any
  uint64_t held_count_ = 0;                 // creations at its go statement up to it (creates)
  std::optional<tracer::TargetExit> exit_;
  uint64_t started_ns_ = 0;
};

}  // namespace gorepro::debug
