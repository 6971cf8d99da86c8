// Fuzzes the schedtrace parser and stream splitter: any bytes, fed in any chunking, must come
// back out exactly — passthrough and blocks re-interleaved at their cut points equal the input
// (no byte lost, none invented), the runtime's unfinished last dump held back at the end — and
// every block handed out must parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "replay/schedtrace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gorepro::replay;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)parse_sched_block(in);

  // The first byte picks the chunk sizes; idle() between chunks when its low bit says so.
  uint8_t knob = size ? data[0] : 0;
  SchedStreamSplitter sp;
  SchedStreamSplitter::Output out;
  size_t step = 1 + (knob >> 1) % 64;
  for (size_t i = 0, n = 0; i < in.size(); i += step, n++) {
    sp.feed(in.substr(i, step), i, out);
    if ((knob & 1) && n % 3 == 2) sp.idle(out);
  }
  sp.finish(out);

  std::string rebuilt;
  size_t pos = 0;
  for (size_t b = 0; b < out.blocks.size(); b++) {
    if (out.cut[b] < pos || out.cut[b] > out.passthrough.size()) std::abort();
    rebuilt.append(out.passthrough, pos, out.cut[b] - pos);
    pos = out.cut[b];
    rebuilt += out.blocks[b].text;
    if (!parse_sched_block(out.blocks[b].text)) std::abort();
  }
  rebuilt.append(out.passthrough, pos, std::string::npos);
  // The runtime's unfinished last dump, held back from the user: the input's very end, and only
  // when the input ends without a newline or inside a block.
  if (!out.unrecorded.empty() && (in.size() < out.unrecorded.size() ||
                                  in.substr(in.size() - out.unrecorded.size()) != out.unrecorded)) {
    std::abort();
  }
  rebuilt += out.unrecorded;
  if (rebuilt != in) std::abort();
  return 0;
}
