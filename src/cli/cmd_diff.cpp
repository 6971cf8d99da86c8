// gorepro diff BEFORE AFTER: which go statements have more goroutines alive at the end of AFTER
// than of BEFORE. Sites match by function + file + line, so BEFORE and AFTER may come from
// different builds. Exit 0; 1 with --fail-on-growth N when a site grew by more than N; 2 on
// usage or I/O errors.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "replay/trace_diff.h"

namespace gorepro::cli {

void add_diff_command(CLI::App& app, int& exit_code) {
  struct Args {
    std::string before, after, format = "text";
    bool all = false;
    int64_t fail_on_growth = -1;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("diff", "Compare two traces per go statement: created and alive counts, and growth");
  cmd->add_option("before", args->before, "Trace of the baseline run")->required();
  cmd->add_option("after", args->after, "Trace of the run to judge")->required();
  cmd->add_option("--format", args->format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_flag("--all", args->all, "Also compare the runtime's own goroutines");
  cmd->add_option("--fail-on-growth", args->fail_on_growth,
                  "Exit 1 when a site's alive count grew by more than N (0: any growth fails)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([args, &exit_code] {
    std::vector<std::string> warnings;
    auto d = replay::diff_traces(args->before, args->after, args->all, warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "gorepro: warning: %s\n", w.c_str());
    if (!d) {
      exit_code = fail(d.error(), 2);
      return;
    }
    if (args->format == "json")
      fmt::print("{}\n", replay::diff_to_json(*d).dump(2));
    else
      fmt::print("{}", replay::format_diff_text(*d));
    exit_code = 0;
    if (args->fail_on_growth < 0) return;
    auto grown = d->grown(args->fail_on_growth);
    if (grown.empty()) return;
    std::fprintf(stderr, "gorepro diff: FAILED — %zu site%s grew by more than %lld alive goroutine%s:\n", grown.size(),
                 grown.size() == 1 ? "" : "s", static_cast<long long>(args->fail_on_growth),
                 args->fail_on_growth == 1 ? "" : "s");
    for (const auto* s : grown)
      std::fprintf(stderr, "  +%lld  %s (%s)\n", static_cast<long long>(s->alive_change()),
                   replay::format_site(s->site).c_str(), s->site.function.c_str());
    exit_code = 1;
  });
}

}  // namespace gorepro::cli
