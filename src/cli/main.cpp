// gorepro: the command line. Thin by design: each subcommand lives in its own cmd_*.cpp and
// wires library pieces together; nothing here knows about ptrace, DWARF or the trace format.
#include <cstdio>
#include <string>

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
  gorepro::cli::add_correlate_command(app, exit_code);
  gorepro::cli::add_replay_command(app, exit_code);
  gorepro::cli::add_diff_command(app, exit_code);
  gorepro::cli::add_debug_command(app, exit_code);
  gorepro::cli::add_export_command(app, exit_code);
  gorepro::cli::add_repro_command(app, exit_code);
  app.name("gorepro");
  if (argc < 2) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  // An unknown first word is a mistyped command, not a positional argument.
  std::string first = argv[1];
  bool known = false;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) known |= sub->get_name() == first;
  if (first[0] != '-' && !known) {
    std::fprintf(stderr, "gorepro: unknown command '%s' — run `gorepro --help` for the list\n", first.c_str());
    return 2;
  }
  // Usage errors: one line in gorepro's form, naming the help to read; exit 2.
  const std::string help_cmd = known ? "gorepro " + first + " --help" : "gorepro --help";
  app.failure_message([help_cmd](const CLI::App*, const CLI::Error& e) {
    return std::string("gorepro: ") + e.what() + " — run `" + help_cmd + "`\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // --help and --version exit 0
  }
  return exit_code;
}
