// gorepro export --format pprof|folded|perfetto|html TRACE: the trace as a file other tools open.
// Wiring only; src/export has the writers.
#include <unistd.h>

#include <cstdio>
#include <map>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "export/export.h"

namespace gorepro::cli {

void add_export_command(CLI::App& app, int& exit_code) {
  struct Args {
    std::string trace, format, at, output, stack = "block", group_by;
    bool all = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "export",
      "Write a trace as a pprof goroutine profile (go tool pprof), folded stacks (flame graphs), a Chrome "
      "trace-event timeline (Perfetto UI, chrome://tracing) or a self-contained HTML report (any browser)");
  cmd->add_option("trace", args->trace, "Trace file written by 'gorepro record'")->required();
  cmd->add_option("--format", args->format,
                  "pprof: gzipped profile.proto of the goroutines alive at --at; folded: their stacks, one "
                  "'root;...;leaf count' line each; perfetto: a timeline of every goroutine's states up to --at; "
                  "html: one page with the leak report, live goroutines over time per go statement, flame graphs "
                  "and goroutine timelines, up to --at")
      ->required()
      ->check(CLI::IsMember({"pprof", "folded", "perfetto", "html"}));
  cmd->add_option("--at", args->at,
                  "Export as of event N (--at 1234) or a time since the trace's start (--at 1.5s); default: the end");
  cmd->add_option("--stack", args->stack, "pprof, folded: the goroutines' block stacks or creation stacks")
      ->check(CLI::IsMember({"block", "creation"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Write here instead of standard output");
  cmd->add_flag("--all", args->all, "Also export the runtime's own goroutines");
  cmd->add_option("--group-by", args->group_by,
                  "folded: put a 'label:KEY=VALUE' frame (the goroutine's pprof label KEY) at the root of each "
                  "stack, so a flame graph splits by it first")
      ->type_name("label:KEY");
  cmd->callback([args, &exit_code] {
    if (!args->group_by.empty() && (!args->group_by.starts_with("label:") || args->group_by.size() == 6)) {
      exit_code = fail(make_error("cannot group by '" + args->group_by + "'", "give --group-by label:KEY"), 2);
      return;
    }
    static const std::map<std::string, exporting::Format> formats = {
        {"pprof", exporting::Format::Pprof}, {"folded", exporting::Format::Folded},
        {"perfetto", exporting::Format::Perfetto}, {"html", exporting::Format::Html}};
    exporting::Options options;
    options.format = formats.at(args->format);
    options.stack = args->stack == "creation" ? exporting::StackKind::Creation : exporting::StackKind::Block;
    options.at = args->at;
    options.include_runtime = args->all;
    if (!args->group_by.empty()) options.root_label = args->group_by.substr(6);
    if (args->output.empty() && options.format == exporting::Format::Pprof && isatty(STDOUT_FILENO)) {
      exit_code = fail(make_error("a pprof profile is binary", "write it to a file with -o FILE.pb.gz"), 2);
      return;
    }
    // Written beside the output and renamed when complete: a failed export leaves no half file
    // and does not clobber an earlier one.
    const std::string partial = args->output.empty() ? "" : args->output + ".partial";
    std::FILE* out = stdout;
    if (!partial.empty() && !(out = std::fopen(partial.c_str(), "wb"))) {
      exit_code = fail(make_error("cannot write " + args->output, "check the directory exists and is writable"), 2);
      return;
    }
    std::vector<std::string> warnings;
    auto done = exporting::export_trace(args->trace, options, out, warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "gorepro: warning: %s\n", w.c_str());
    if (!partial.empty()) {
      bool closed = std::fclose(out) == 0;
      if (done && !closed)
        done = make_error("cannot write " + args->output, "check the output file's disk and permissions");
      if (done && std::rename(partial.c_str(), args->output.c_str()) != 0)
        done = make_error("cannot rename " + partial + " to " + args->output, "check the directory is writable");
      if (!done) std::remove(partial.c_str());
    } else {
      std::fflush(stdout);
    }
    exit_code = done ? 0 : fail(done.error(), 2);
  });
}

}  // namespace gorepro::cli
