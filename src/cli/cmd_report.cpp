// gorepro report TRACE: the goroutines alive at the end of a trace (or --at a point), grouped
// by creation site, start function, state, wait reason and block site — or by a pprof label.
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
    std::string group_by = "site";
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report", "Report the goroutines alive in a trace, grouped by leak site");
  args->common.add_to(*cmd);
  cmd->add_option("--format", args->format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_flag("--json", args->json, "Same as --format json");
  cmd->add_option("--group-by", args->group_by,
                  "Group by go statement (site) or by the value of a pprof label (label:KEY; goroutines "
                  "without it form one '(no KEY)' group)")
      ->type_name("site|label:KEY")
      ->capture_default_str();
  cmd->callback([args, &exit_code] {
    if (args->json) args->format = "json";
    if (args->group_by.starts_with("label:") && args->group_by.size() > 6) {
      args->common.report.group_by_label = args->group_by.substr(6);
    } else if (args->group_by != "site") {
      fmt::print(stderr, "gorepro: cannot group by '{}' — give --group-by site or --group-by label:KEY\n", args->group_by);
      exit_code = 2;
      return;
    }
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
