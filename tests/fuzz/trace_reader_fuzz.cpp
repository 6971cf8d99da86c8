// libFuzzer target: TraceReader::parse on arbitrary bytes, then every event through a Replayer
// and a raw-PC report. Any crash, sanitizer report or unbounded allocation is a bug: malformed
// traces must come back as errors.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "replay/leak_report.h"
#include "replay/replayer.h"
#include "replay/trace_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gorepro::replay;
  auto r = TraceReader::parse(std::vector<uint8_t>(data, data + size), "fuzz.gtr", {},
                              TraceReader::Checksums::kIgnore);
  if (!r) return 0;
  Replayer::Options opt;
  opt.checkpoint_interval = 16;
  Replayer rp(**r, opt);
  rp.run_to_end();
  rp.seek((*r)->event_count() / 2);
  TraceSymbols raw(nullptr);
  auto report = build_report(**r, rp.table(), raw, {}, rp.table().time_ns());
  if (report) (void)format_report_text(*report);
  return 0;
}
