// TraceSession: what `report`, `check` and later trace commands share — an opened trace, the
// traced binary's symbols when they still match, and a Replayer positioned where the user
// asked (--at EVENT or --at TIME). The one place in src/replay that opens the Go binary.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "replay/leak_report.h"
#include "replay/predicate.h"
#include "replay/replayer.h"
#include "replay/trace_reader.h"
#include "replay/trace_symbols.h"
#include "util/result.h"

namespace gorepro {
class GoBinary;
}

namespace gorepro::replay {

// Where to look in a trace: after an event (a bare number) or at a time since the trace's
// start (a duration such as "1.5s").
struct ReplayPoint {
  bool by_time = false;
  uint64_t value = 0;  // event seq or ns since start
};
Result<ReplayPoint> parse_replay_point(const std::string& text);

class TraceSession {
 public:
  // Opens the trace, laying the Replayer's checkpoints in the reader's validating pass, and the
  // binary its header names. A missing or rebuilt binary is not an error: names become raw PCs
  // and warnings() says so.
  static Result<std::unique_ptr<TraceSession>> open(const std::string& trace_path);
  ~TraceSession();

  const TraceReader& reader() const { return *reader_; }
  const TraceSymbols& symbols() const { return *symbols_; }
  Replayer& replayer() { return *replayer_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Replays to the point (the end when nullopt); returns the time ages are measured at.
  Result<uint64_t> replay_to(const std::optional<ReplayPoint>& point);

 private:
  TraceSession() = default;
  std::unique_ptr<TraceReader> reader_;
  std::unique_ptr<GoBinary> binary_;
  std::unique_ptr<TraceSymbols> symbols_;
  std::unique_ptr<Replayer> replayer_;
  std::vector<std::string> warnings_;
};

// The whole of `gorepro report`/`check` below the CLI: open trace_path, replay to `at` ("" for
// the end), build the report. Warnings (truncation, raw PCs) are appended to `warnings`.
// `gorepro check --fail-if`: whether predicate holds on trace_path as of `at` ("" for the end),
// and its conditions' values ("leaked>0 (leaked = 3)").
struct PredicateOutcome {
  bool holds = false;
  std::string explanation;
};
Result<PredicateOutcome> hold_predicate(const std::string& trace_path, const std::string& at, const Predicate& predicate,
                                        std::vector<std::string>& warnings);

Result<LeakReport> report_trace(const std::string& trace_path, const std::string& at, const ReportOptions& options,
                                std::vector<std::string>& warnings);

}  // namespace gorepro::replay
