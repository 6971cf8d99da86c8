// ReplayConsole: the commands of `gorepro replay` — a debugger's verbs over a recorded trace.
// It owns a position in the trace (0 = before the first event; p = event p-1 is the current
// event and the goroutine table reflects events [0, p)), breakpoints, and nothing else: the
// prompt, scripts and the terminal belong to the CLI, which feeds it one line at a time.
// Moving by search decodes with cursors (event_search.h) and then seeks the Replayer once, so
// any move costs one search plus a checkpoint restore, never a replay from event 0.
// Output is a pure function of the trace, the position and the command: the same script gives
// byte-identical output (ordering never depends on hash iteration).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replay/event_search.h"
#include "replay/event_view.h"
#include "replay/site_pattern.h"
#include "replay/trace_session.h"
#include "util/result.h"

namespace gorepro::replay {

struct ConsoleReply {
  std::string output;          // text (ends with '\n') or, in JSON mode, one JSON object + '\n'
  std::optional<Error> error;  // the command failed; output is then empty
  bool usage_error = false;    // ... because it was written wrong (unknown command, bad argument)
  bool quit = false;           // `quit`
};

class ReplayConsole {
 public:
  // The three pieces a TraceSession holds; tests pass their own symbols.
  ReplayConsole(const TraceReader& reader, const TraceSymbols& symbols, Replayer& replayer, bool json);
  ReplayConsole(TraceSession& session, bool json)
      : ReplayConsole(session.reader(), session.symbols(), session.replayer(), json) {}
  ~ReplayConsole();

  ConsoleReply execute(std::string_view line);
  uint64_t position() const;
  std::string prompt() const;  // "(gorepro 12/340) " — current event / events
  // Command names and aliases, for the line editor's completion.
  static std::vector<std::string> command_words();

  struct Command;  // one verb: names, usage, help, handler (replay_console.cpp)

 private:
  using Args = std::vector<std::string>;
  struct Breakpoint {
    int id = 0;
    std::unique_ptr<SiteMatcher> matcher;
  };

  static const std::vector<Command>& commands();
  ConsoleReply cmd_next(const Args& a, bool forward);
  ConsoleReply prev_by_creation(EventKind k, const SiteMatcher& site, const std::string& what);
  ConsoleReply cmd_continue(const Args& a, bool forward);
  ConsoleReply cmd_break(const Args& a);
  ConsoleReply cmd_delete(const Args& a);
  ConsoleReply cmd_goto(const Args& a);
  ConsoleReply cmd_where(const Args& a);
  ConsoleReply cmd_goroutines(const Args& a);
  ConsoleReply cmd_goroutine(const Args& a);
  ConsoleReply cmd_sites(const Args& a);
  ConsoleReply cmd_sched(const Args& a);
  ConsoleReply cmd_help(const Args& a);

  // After a move: the new current event (summary line, or JSON with the event).
  ConsoleReply moved(const std::string& command);
  ConsoleReply seek_to(std::optional<Event> found, const std::string& command, std::string what, bool forward);
  Result<std::unique_ptr<SiteMatcher>> matcher(const std::string& site) const;
  uint64_t now_ns() const;  // time of the current event (the recording's start before any)

  const TraceReader& reader_;
  const TraceSymbols& symbols_;
  Replayer& replayer_;
  bool json_;
  EventView view_;
  std::vector<Breakpoint> breakpoints_;
  int next_breakpoint_ = 1;
  std::string current_command_;  // canonical name, for JSON replies
};

// Splits a command line into words: whitespace separates, '…' and "…" quote.
Result<std::vector<std::string>> split_command_line(std::string_view line);

}  // namespace gorepro::replay
