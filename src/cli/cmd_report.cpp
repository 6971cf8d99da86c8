// gorepro report TRACE: the goroutines alive at the end of a trace (or --at a point), grouped
// by creation site, start function, state, wait reason and block site.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "replay/report_cli_options.h"

namespace gorepro::cli {

void add_report_command(CLI::App& app, int& exit_code) {
  struct Args {
    TraceReportArgs common;
    std::string format = "text";
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report", "Report the goroutines alive in a trace, grouped by leak site");
  args->common.add_to(*cmd);
  cmd->add_option("--format", args->format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_flag("--json", args->json, "Same as --format json");
  cmd->callback([args, &exit_code] {
    if (args->json) args->format = "json";
    auto report = args->common.run(exit_code);
    if (!report) return;
    if (args->format == "json")
      fmt::print("{}\n", replay::report_to_json(*report).dump(2));
    else
      fmt::print("{}", replay::format_report_text(*report));
    exit_code = 0;
  });
}

}  // namespace gorepro::cli
