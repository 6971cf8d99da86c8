// gorepro correlate TRACE: the trace's goroutine table held against the Go runtime's own
// scheduler dumps (recorded with `record --schedtrace`, or a log given with --schedtrace-log).
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "replay/correlate.h"
#include "replay/duration.h"
#include "replay/schedtrace.h"
#include "replay/trace_session.h"

namespace gorepro::cli {

namespace {

struct CorrelateArgs {
  std::string trace;
  std::string log;
  std::string log_offset;
  std::string window = "500ms";
  std::string slack = "2ms";
  double min_slope = 5.0;
  double min_agreement = 0.0;
  size_t max_listed = 50;
  bool timeline = false;
  std::string format = "text";
};

std::optional<uint64_t> duration_arg(const std::string& what, const std::string& text) {
  auto ns = replay::parse_duration(text);
  if (!ns) fail(make_error(fmt::format("cannot read {} '{}'", what, text), "give a duration such as 500ms or 2s"), 2);
  return ns;
}

int run_correlate(const CorrelateArgs& a) {
  replay::CorrelateOptions o;
  auto window = duration_arg("--window", a.window);
  auto slack = duration_arg("--slack", a.slack);
  if (!window || !slack) return 2;
  o.growth_window_ns = *window;
  o.transition_slack_ns = *slack;
  o.growth_min_slope = a.min_slope;
  o.max_listed = a.max_listed;
  replay::SchedLog log;
  if (!a.log.empty()) {
    std::ifstream in(a.log, std::ios::binary);
    if (!in) return fail(make_error(fmt::format("cannot read the schedtrace log {}", a.log), "check the path"), 1);
    std::stringstream ss;
    ss << in.rdbuf();
    log = replay::split_sched_log(ss.str());
    if (log.samples.empty()) {
      return fail(make_error(fmt::format("{} holds no SCHED blocks", a.log),
                             "capture the program's stderr under GODEBUG=schedtrace=100,scheddetail=1"), 1);
    }
    o.log = &log;
    if (!a.log_offset.empty()) {
      bool negative = a.log_offset[0] == '-';
      auto ns = duration_arg("--log-offset", negative ? a.log_offset.substr(1) : a.log_offset);
      if (!ns) return 2;
      o.log_offset_ns = negative ? -static_cast<int64_t>(*ns) : static_cast<int64_t>(*ns);
    }
  } else if (!a.log_offset.empty()) {
    return fail(make_error("--log-offset needs --schedtrace-log", "samples recorded in the trace carry their own times"), 2);
  }
  auto session = replay::TraceSession::open(a.trace);
  if (!session) return fail(session.error(), 1);
  for (const auto& w : (*session)->warnings()) fmt::print(stderr, "gorepro: warning: {}\n", w);
  auto c = replay::correlate(**session, o);
  if (!c) return fail(c.error(), 1);
  if (a.format == "json") {
    fmt::print("{}\n", replay::correlation_to_json(*c).dump(2));
  } else {
    fmt::print("{}", replay::format_correlation_text(*c, a.timeline));
  }
  if (c->detailed && c->agreement < a.min_agreement) {
    fmt::print(stderr, "gorepro: agreement {:.4f} is below --min-agreement {:.4f}\n", c->agreement, a.min_agreement);
    return 1;
  }
  return 0;
}

}  // namespace

void add_correlate_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<CorrelateArgs>();
  auto* cmd = app.add_subcommand("correlate", "Hold a trace against the Go runtime's own scheduler dumps (GODEBUG=schedtrace)");
  cmd->footer(
      "Examples:\n"
      "  gorepro record -o t.gtr --schedtrace=10 --scheddetail -- ./server\n"
      "  gorepro correlate t.gtr --timeline\n"
      "  gorepro correlate t.gtr --format json --min-agreement 0.99\n"
      "  GODEBUG=schedtrace=100,scheddetail=1 ./server 2> sched.log &  gorepro record --pid $! -o t.gtr ...\n"
      "  gorepro correlate t.gtr --schedtrace-log sched.log\n"
      "Agreement compares, per dump, every goroutine's existence, class (waiting / active) and wait reason.");
  cmd->add_option("trace", a->trace, "Trace file written by 'gorepro record'")->required();
  cmd->add_option("--schedtrace-log", a->log, "Use this captured stderr (GODEBUG=schedtrace output) instead of the trace's samples");
  cmd->add_option("--log-offset", a->log_offset,
                  "With --schedtrace-log: time into the trace of the log's 0 ms (default: fitted on goroutine counts)");
  cmd->add_option("--window", a->window, "Growth windows: length of the sliding linear fit")->capture_default_str();
  cmd->add_option("--min-slope", a->min_slope, "Growth windows: goroutines per second that count as growth")->capture_default_str();
  cmd->add_option("--slack", a->slack, "How far around a dump a gorepro event counts as a transition in flight")->capture_default_str();
  cmd->add_option("--max-list", a->max_listed, "Disagreements listed (all are counted)")->capture_default_str();
  cmd->add_option("--min-agreement", a->min_agreement, "Exit 1 when the agreement is below this (0..1)")->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--timeline", a->timeline, "Print one line per sample: runtime counts next to gorepro's");
  cmd->add_option("--format", a->format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->callback([a, &exit_code] { exit_code = run_correlate(*a); });
}

}  // namespace gorepro::cli
