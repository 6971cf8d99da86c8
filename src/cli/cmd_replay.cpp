// gorepro replay TRACE: walk a recorded trace like a debugger walks a program — forward and
// backward by events, creations, parks, breakpoints — at a prompt (libedit), or run a script of
// the same commands for CI (--script FILE, -x 'cmd; cmd', or commands piped on stdin), with
// --json printing one object per command. Exit codes: 0; 1 when a scripted command fails (e.g.
// nothing to move to); 2 on usage errors, including a mistyped command in a script.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "replay/duration.h"
#include "replay/line_editor.h"
#include "replay/replay_console.h"
#include "replay/trace_session.h"

namespace gorepro::cli {
namespace {

// Splits a script line into commands at ';' outside quotes.
std::vector<std::string> split_commands(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ';') {
      out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(std::move(cur));
  return out;
}

struct ScriptLine {
  std::string where;  // "FILE:LINE" or "-x command N"
  std::string command;
};

// Runs commands without a prompt; stops at the first failure with an exit code.
int run_script(replay::ReplayConsole& console, const std::vector<ScriptLine>& lines) {
  for (const auto& l : lines) {
    replay::ConsoleReply r = console.execute(l.command);
    std::fwrite(r.output.data(), 1, r.output.size(), stdout);
    if (r.error) {
      std::fflush(stdout);
      std::string cmd = l.command.substr(l.command.find_first_not_of(" \t"));
      return fail(make_error(fmt::format("{}: '{}': {}", l.where, cmd, r.error->what), r.error->hint),
                  r.usage_error ? 2 : 1);
    }
    if (r.quit) break;
  }
  std::fflush(stdout);
  return 0;
}

void add_lines(std::vector<ScriptLine>& out, const std::string& where_prefix, int line_no, const std::string& text) {
  auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos || text[first] == '#') return;
  for (const auto& cmd : split_commands(text))
    if (cmd.find_first_not_of(" \t\r") != std::string::npos)
      out.push_back({line_no ? fmt::format("{}:{}", where_prefix, line_no) : where_prefix, cmd});
}

int interactive(replay::ReplayConsole& console, const replay::TraceReader& reader, const std::string& path) {
  fmt::print("gorepro replay: {} — {} events over {} ({}, {}); before event 0. Type help, or quit.\n", path,
             reader.event_count(), replay::format_duration(reader.last_time_ns() - reader.start_time_ns()),
             reader.header().binary_path, reader.header().go_version);
  replay::LineEditor editor(replay::ReplayConsole::command_words());
  while (auto line = editor.read(console.prompt())) {
    replay::ConsoleReply r = console.execute(*line);
    std::fwrite(r.output.data(), 1, r.output.size(), stdout);
    std::fflush(stdout);
    if (r.error) std::fprintf(stderr, "error: %s\n", r.error->message().c_str());
    if (r.quit) return 0;
  }
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace

void add_replay_command(CLI::App& app, int& exit_code) {
  struct Args {
    std::string trace, script;
    std::vector<std::string> commands;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "replay",
      "Step through a trace's events, creations and parks at a prompt, or run a script of replay commands (for CI)");
  cmd->footer(
      "At the prompt, 'help' lists the commands (next, prev, break, continue, rcontinue, goto, where,\n"
      "goroutines, goroutine, sites, sched). Without --script or -x and with stdin not a terminal, commands\n"
      "are read from stdin. Exit status: 0; 1 when a scripted command fails (e.g. no such event); 2 on\n"
      "usage errors, including an unknown command or bad argument in a script.");
  cmd->add_option("trace", args->trace, "Trace file written by 'gorepro record'")->required();
  auto* script = cmd->add_option("--script", args->script, "Run the commands in FILE (one or more per line, ';'-separated; # comments) instead of a prompt");
  cmd->add_option("-x,--execute", args->commands, "Run these ';'-separated commands instead of a prompt; repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->excludes(script);
  cmd->add_flag("--json", args->json, "Print one JSON object per command (one line each)");
  cmd->callback([args, &exit_code] {
    std::vector<ScriptLine> lines;
    if (!args->script.empty()) {
      std::ifstream in(args->script);
      if (!in) {
        exit_code = fail(make_error(fmt::format("cannot read script {}", args->script), "check the path"), 2);
        return;
      }
      int n = 0;
      for (std::string l; std::getline(in, l);) add_lines(lines, args->script, ++n, l);
    }
    for (size_t i = 0; i < args->commands.size(); ++i)
      add_lines(lines, args->commands.size() == 1 ? "-x" : fmt::format("-x #{}", i + 1), 0, args->commands[i]);
    const bool scripted = !args->script.empty() || !args->commands.empty();
    const bool from_stdin = !scripted && !isatty(STDIN_FILENO);
    if (from_stdin) {
      int n = 0;
      for (std::string l; std::getline(std::cin, l);) add_lines(lines, "<stdin>", ++n, l);
    }

    auto session = replay::TraceSession::open(args->trace);
    if (!session) {
      exit_code = fail(session.error(), 2);
      return;
    }
    for (const auto& w : (*session)->warnings()) std::fprintf(stderr, "gorepro: warning: %s\n", w.c_str());
    replay::ReplayConsole console(**session, args->json);
    if (scripted || from_stdin)
      exit_code = run_script(console, lines);
    else
      exit_code = interactive(console, (*session)->reader(), args->trace);
  });
}

}  // namespace gorepro::cli
