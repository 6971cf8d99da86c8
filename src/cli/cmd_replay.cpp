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
#include "cli/console_runner.h"
#include "replay/duration.h"
#include "replay/line_editor.h"
#include "replay/replay_console.h"
#include "replay/trace_session.h"

namespace gorepro::cli {
namespace {

int interactive(replay::ReplayConsole& console, const replay::TraceReader& reader, const std::string& path) {
  fmt::print("gorepro replay: {} — {} events over {} ({}, {}); before event 0. Type help, or quit.\n", path,
             reader.event_count(), replay::format_duration(reader.last_time_ns() - reader.start_time_ns()),
             reader.header().binary_path, reader.header().go_version);
  run_prompt([&](std::string_view line) { return console.execute(line); }, [&] { return console.prompt(); },
             replay::ReplayConsole::command_words());
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
    bool from_stdin = false;
    if (!collect_script(args->script, args->commands, lines, from_stdin)) {
      exit_code = 2;
      return;
    }
    const bool scripted = !args->script.empty() || !args->commands.empty();

    auto session = replay::TraceSession::open(args->trace);
    if (!session) {
      exit_code = fail(session.error(), 2);
      return;
    }
    for (const auto& w : (*session)->warnings()) std::fprintf(stderr, "gorepro: warning: %s\n", w.c_str());
    replay::ReplayConsole console(**session, args->json);
    if (scripted || from_stdin)
      exit_code = run_script([&](std::string_view line) { return console.execute(line); }, lines);
    else
      exit_code = interactive(console, (*session)->reader(), args->trace);
  });
}

}  // namespace gorepro::cli
