// ReplayConsole: the commands of `gorepro replay` — a debugger's verbs over a recorded trace.
// It owns a position in the trace (0 = before the first event; p = event p-1 is the current
// event and the goroutine table reflects events [0, p)), breakpoints, and nothing else: the
// prompt, scripts and the terminal belong to the CLI, which feeds it one line at a time.
// Moving by search decodes with cursors (event_search.h) and then seeks the Replayer once, so
// any move costs one search plus a checkpoint restore, never a replay from event 0.
// Output is a pure function of the trace, the position and the command: the same script gives
// byte-identical output (ordering never depends on hash iteration).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

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

// Replies every console builds: a failure (a usage error when the command was written wrong),
// or text.
inline ConsoleReply reply_failure(std::string what, std::string hint = {}, bool usage = false) {
  ConsoleReply r;
  r.error = make_error(std::move(what), std::move(hint));
  r.usage_error = usage;
  return r;
}
inline ConsoleReply reply_text(std::string text) {
  ConsoleReply r;
  r.output = std::move(text);
  return r;
}
// A non-negative count written in decimal ("12"); nullopt for anything else.
inline std::optional<uint64_t> parse_count(const std::string& s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(s);
}

// A console's `help`: every command (aliases in brackets) with its summary, or one command's
// usage, summary and help. Command has name, aliases, usage, summary and help strings.
template <class Command>
Result<std::string> console_help(const std::vector<Command>& commands, const std::vector<std::string>& args) {
  std::string out;
  if (args.empty()) {
    out = "Commands (aliases in brackets); help COMMAND explains one:\n";
    for (const auto& c : commands) {
      std::string names = c.name;
      if (!c.aliases.empty()) names += " [" + fmt::format("{}", fmt::join(c.aliases, ", ")) + "]";
      out += fmt::format("  {:<20} {}\n", names, c.summary);
    }
    return out;
  }
  auto it = std::find_if(commands.begin(), commands.end(), [&](const Command& c) {
    return c.name == args[0] || std::find(c.aliases.begin(), c.aliases.end(), args[0]) != c.aliases.end();
  });
  if (it == commands.end()) return make_error(fmt::format("no command '{}'", args[0]), "help lists them");
  out = fmt::format("usage: {}\n{}\n", it->usage, it->summary);
  if (!it->help.empty()) out += it->help + "\n";
  return out;
}

// Splits a command line into words: whitespace separates, '…' and "…" quote.
Result<std::vector<std::string>> split_command_line(std::string_view line);

}  // namespace gorepro::replay
