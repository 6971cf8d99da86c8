// gorepro debug: hold a live Go program at goroutine creation sites, parks and wait reasons,
// look at its goroutines, pass commands to gdb, save the trace so far — at a prompt, or from a
// script for CI (-x, --script, stdin; --json). Wiring only: the commands are debug::DebugConsole.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "cli/backends.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/console_runner.h"
#include "debug/debug_console.h"
#include "tracer/recorder.h"

namespace gorepro::cli {

namespace {

std::atomic<debug::DebugConsole*> g_console{nullptr};
std::atomic<bool> g_running{false};  // a command that lets the program run is executing
std::atomic<bool> g_quit{false};     // SIGTERM/SIGHUP: end the session as quit does

void on_signal(int sig) {
  if (sig != SIGINT) g_quit.store(true);
  debug::DebugConsole* c = g_console.load();
  if (c && g_running.load()) c->request_hold();
}

// While alive: Ctrl-C holds a running program (and is otherwise ignored: the prompt keeps the
// session), SIGTERM/SIGHUP end the session cleanly (detach or kill, as quit). No SA_RESTART, so
// a blocking wait for the program returns and sees the request.
class DebugSignals {
 public:
  DebugSignals() {
    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < 3; i++) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~DebugSignals() {
    for (size_t i = 0; i < 3; i++) sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3];
};

struct DebugCliOptions {
  std::string backend = "ptrace";
  int pid = 0;
  int stack_depth = 32;
  std::string script;
  std::vector<std::string> commands;
  bool json = false;
  std::vector<std::string> command;
};

// A fresh scratch trace in $TMPDIR for the session (removed at its end).
Result<std::string> scratch_trace() {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = fmt::format("{}/gorepro-debug-XXXXXX.gtr", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemps(path.data(), 4);
  if (fd < 0) {
    return make_error(fmt::format("cannot create a scratch trace in {}: {}", tmp && *tmp ? tmp : "/tmp",
                                  std::strerror(errno)),
                      "set TMPDIR to a writable directory");
  }
  ::close(fd);
  return path;
}

int run_debug(const DebugCliOptions& o) {
  tracer::RecordRequest target;
  target.pid = o.pid;
  target.command = o.command;
  if (auto st = tracer::validate(target); !st) {
    Error e = st.error();
    e.hint = "use `gorepro debug -- PROGRAM ARGS...` or `gorepro debug --pid PID`";
    return fail(e, 2);
  }
  std::vector<ScriptLine> lines;
  bool from_stdin = false;
  if (!collect_script(o.script, o.commands, lines, from_stdin)) return 2;
  const bool scripted = !o.script.empty() || !o.commands.empty() || from_stdin;

  auto path = tracer::target_path(target);
  if (!path) return fail(path.error(), 1);
  auto binary = tracer::open_target_binary(target);
  if (!binary) return fail(binary.error(), 1);
  auto backend = make_backend(o.backend, **binary);
  if (!backend) return fail(backend.error(), 2);
  auto scratch = scratch_trace();
  if (!scratch) return fail(scratch.error(), 1);
  struct RemoveScratch {
    std::string path;
    ~RemoveScratch() { std::filesystem::remove(path); }
  } remove_scratch{*scratch};

  debug::DebugOptions options;
  options.pid = o.pid;
  options.command = o.command;
  options.program_path = *path;
  options.stack_depth = o.stack_depth;
  options.json = o.json;
  options.scratch_trace = *scratch;
  DebugSignals signals;
  auto console = debug::DebugConsole::start(**backend, **binary, options);
  if (!console) return fail(console.error(), 1);
  g_console.store(console->get());
  auto execute = [&](std::string_view line) {
    g_running.store(true);
    replay::ConsoleReply r = (*console)->execute(line);
    g_running.store(false);
    if (g_quit.load()) r.quit = true;
    return r;
  };
  int code = 0;
  if (scripted) {
    code = run_script(execute, lines);
  } else {
    fmt::print("{}\n", (*console)->banner());
    run_prompt(execute, [&] { return (*console)->prompt(); }, debug::DebugConsole::command_words());
  }
  g_console.store(nullptr);
  console->reset();  // detaches an attached program, kills a launched one still held
  if (!o.pid) {
    // A launched program that was detached runs on: wait for it, as `record` does.
    int status = 0;
    while (waitpid((*backend)->pid(), &status, 0) < 0 && errno == EINTR) {
    }
  }
  return code;
}

}  // namespace

void add_debug_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<DebugCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "debug", "Hold a live Go program where goroutines are created or block, and look at its goroutines");
  cmd->footer(
      "Examples:\n"
      "  gorepro debug -- ./server --port 0          then: break create main.go:42, continue, goroutines\n"
      "  gorepro debug --pid 4242\n"
      "  gorepro debug -x 'break create main.go:42' -x 'continue 3' -x goroutines --json -- ./server\n"
      "At the prompt, 'help' lists the commands (break, continue, where, goroutines, goroutine, sites,\n"
      "gdb, record, detach, kill, quit). Ctrl-C while the program runs holds it. A launched program runs\n"
      "in its own process group and is killed when the session ends while it is held (quit); an\n"
      "attached one is detached and runs on. Exit status: 0; 1 when a scripted command fails;\n"
      "2 on usage errors, including an unknown command in a script.");
  cmd->add_option("--backend", o->backend, "How to hold the program: " + backend_help())
      ->check(CLI::IsMember(backend_names()))
      ->capture_default_str();
  cmd->add_option("-p,--pid", o->pid, "Attach to this running Go process instead of launching one");
  cmd->add_option("--stack-depth", o->stack_depth, "Frames kept per creation/block stack")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  auto* script = cmd->add_option("--script", o->script,
                                 "Run the commands in FILE (one or more per line, ';'-separated; # comments) "
                                 "instead of a prompt");
  cmd->add_option("-x,--execute", o->commands, "Run these ';'-separated commands instead of a prompt; repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->excludes(script);
  cmd->add_flag("--json", o->json, "Print one JSON object per command (one line each)");
  cmd->add_option("command", o->command, "PROGRAM ARGS... to launch (after --)");
  cmd->callback([o, &exit_code] { exit_code = run_debug(*o); });
}

}  // namespace gorepro::cli
