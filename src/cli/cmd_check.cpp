// gorepro check TRACE: a CI gate. Exit 0 when at most --max-leaked goroutines are left (after
// --min-age and the ignore rules), 1 with the offending groups printed as `report` prints them,
// 2 on usage or I/O errors.
#include <fstream>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "replay/report_cli_options.h"

namespace gorepro::cli {

namespace {

// check --fail-if: exit 1 (with the report) when the condition holds, 0 when not, 2 on errors.
int check_predicate(const TraceReportArgs& common, const std::string& text) {
  auto predicate = replay::Predicate::parse(text);
  if (!predicate) return fail(predicate.error(), 2);
  std::vector<std::string> warnings;
  auto outcome = replay::hold_predicate(common.trace, common.at, *predicate, warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "gorepro: warning: %s\n", w.c_str());
  if (!outcome) return fail(outcome.error(), 2);
  if (!outcome->holds) {
    fmt::print("gorepro check: ok — '{}' does not hold: {}\n", text, outcome->explanation);
    return 0;
  }
  fmt::print("gorepro check: FAILED — '{}' holds: {}\n", text, outcome->explanation);
  std::vector<std::string> ignored;
  if (auto report = replay::report_trace(common.trace, common.at, common.report, ignored)) {
    fmt::print("\n{}", replay::format_report_text(*report));
  }
  return 1;
}

}  // namespace

void add_check_command(CLI::App& app, int& exit_code) {
  struct Args {
    TraceReportArgs common;
    uint64_t max_leaked = 0;
    std::string junit;
    std::string fail_if;
    std::string count = "leaked";
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("check", "Fail (exit 1) when a trace leaks more goroutines than allowed");
  args->common.add_to(*cmd);
  cmd->add_option("--max-leaked", args->max_leaked, "Goroutines allowed to be left alive")->capture_default_str();
  cmd->add_option("--count", args->count,
                  "What --max-leaked counts: 'leaked' — with leak verdicts in the trace, the goroutines that can "
                  "never wake, else every goroutine alive —, or 'alive' — every goroutine alive")
      ->check(CLI::IsMember({"leaked", "alive"}))
      ->capture_default_str();
  cmd->add_option("--ignore-site", args->common.report.ignore_sites,
                  "Ignore goroutines created at FILE:LINE (FILE matches by suffix); repeatable");
  cmd->add_option("--ignore-func", args->common.report.ignore_funcs,
                  "Ignore goroutines with a function matching REGEX in their creation or block stack; repeatable");
  cmd->add_option("--junit", args->junit, "Also write the verdict as JUnit XML to FILE");
  cmd->add_option("--fail-if", args->fail_if,
                  "Fail when this condition holds instead of counting against --max-leaked, e.g. 'leaked>0', "
                  "'site=main.go:42 alive>5', \"reason='chan send'\", 'live>1000', "
                  "'growth main.go:42 > 100/s', 'never_woken>0', joined by and/or/not (docs/predicates.md)");
  cmd->callback([args, &exit_code] {
    if (!args->fail_if.empty()) {
      exit_code = check_predicate(args->common, args->fail_if);
      return;
    }
    auto report = args->common.run(exit_code);
    if (!report) return;
    if (!args->junit.empty()) {
      std::ofstream out(args->junit, std::ios::trunc);
      out << replay::format_junit(*report, args->max_leaked);
      out.close();
      if (!out) {
        exit_code = fail(make_error(fmt::format("cannot write {}", args->junit), "check that the directory is writable"), 2);
        return;
      }
    }
    const uint64_t leaked = args->count == "alive" ? report->alive() : report->leaked();
    if (leaked <= args->max_leaked) {
      fmt::print("gorepro check: ok — {} goroutine{} {} (allowed: {})\n", leaked, leaked == 1 ? "" : "s",
                 report->has_verdicts && args->count != "alive" ? "leaked (can never wake)" : "left alive",
                 args->max_leaked);
      exit_code = 0;
      return;
    }
    fmt::print("gorepro check: FAILED — {} goroutines leaked (allowed: {})\n\n{}", leaked, args->max_leaked,
               replay::format_report_text(*report));
    exit_code = 1;
  });
}

}  // namespace gorepro::cli
