#include "export/export.h"

#include "export/html_export.h"
#include "export/perfetto_export.h"
#include "export/pprof_export.h"
#include "replay/trace_session.h"

namespace gorepro::exporting {

Status export_trace(const std::string& trace_path, const Options& options, std::FILE* out,
                    std::vector<std::string>& warnings) {
  std::optional<replay::ReplayPoint> point;
  if (!options.at.empty()) {
    auto p = replay::parse_replay_point(options.at);
    if (!p) return p.error();
    point = *p;
  }
  auto session = replay::TraceSession::open(trace_path);
  if (!session) return session.error();
  replay::TraceSession& s = **session;
  warnings.insert(warnings.end(), s.warnings().begin(), s.warnings().end());
  auto now = s.replay_to(point);
  if (!now) return now.error();
  const replay::GoroutineTable& table = s.replayer().table();
  switch (options.format) {
    case Format::Perfetto:
      return write_perfetto(s.reader(), s.symbols(), s.replayer().position(), options.include_runtime, out);
    case Format::Html:
      return write_html(s, *now, options.include_runtime, out);
    case Format::Pprof:
    case Format::Folded: {
      auto stacks = collect_stacks(s.reader(), table, s.symbols(), options.stack, options.include_runtime);
      if (options.format == Format::Folded) return write_folded(s.symbols(), stacks, out, options.root_label);
      return write_pprof(s.reader(), s.symbols(), stacks, *now, table.events_applied(), out);
    }
  }
  return make_error("unknown export format", "");
}

}  // namespace gorepro::exporting
