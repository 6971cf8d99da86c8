// Each gorepro subcommand registers itself on the CLI11 app; main() only wires them.
// A command's callback stores its exit code in the shared int.
#pragma once

#include <CLI/CLI.hpp>

namespace gorepro::cli {

void add_info_command(CLI::App& app, int& exit_code);
void add_record_command(CLI::App& app, int& exit_code);
void add_report_command(CLI::App& app, int& exit_code);
void add_check_command(CLI::App& app, int& exit_code);
void add_correlate_command(CLI::App& app, int& exit_code);
void add_replay_command(CLI::App& app, int& exit_code);
void add_diff_command(CLI::App& app, int& exit_code);
void add_debug_command(CLI::App& app, int& exit_code);
void add_export_command(CLI::App& app, int& exit_code);
void add_repro_command(CLI::App& app, int& exit_code);

}  // namespace gorepro::cli
