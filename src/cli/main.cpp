// gorepro: the command line. Thin by design: each subcommand lives in its own cmd_*.cpp and
// wires library pieces together; nothing here knows about ptrace, DWARF or the trace format.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"gorepro — make goroutine leaks in Go programs reproducible and explainable"};
  app.set_version_flag("--version", std::string("gorepro ") + GOREPRO_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  int exit_code = 0;
  gorepro::cli::add_record_command(app, exit_code);
  gorepro::cli::add_info_command(app, exit_code);
  gorepro::cli::add_report_command(app, exit_code);
  gorepro::cli::add_check_command(app, exit_code);
  gorepro::cli::add_replay_command(app, exit_code);
  gorepro::cli::add_diff_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // Usage errors exit 2 (CLI11 would use its own codes); --help and --version exit 0.
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
