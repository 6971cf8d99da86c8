// Fuzzes the GDB/MI parser: any bytes, fed in any chunking, must give the same records as when
// fed at once (no byte lost or invented at a chunk boundary), every line that parses must
// re-encode (to_mi) into text that parses to the same record, and nothing may crash or grow
// without bound (a small max_line exercises the overlong-line path).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "gdbmi/mi_parser.h"

using namespace gorepro;
using namespace gorepro::gdbmi;

namespace {

bool same(const Result<MiRecord>& a, const Result<MiRecord>& b) {
  if (a.ok() != b.ok()) return false;
  return !a.ok() || *a == *b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first byte picks the chunk size and whether the line limit is tiny.
  const uint8_t knob = size ? data[0] : 0;
  const size_t max_line = (knob & 0x80) ? 64 : MiParser::kDefaultMaxLine;

  std::vector<Result<MiRecord>> whole, split;
  MiParser a(max_line);
  a.feed(in, whole);
  a.finish(whole);
  MiParser b(max_line);
  const size_t step = 1 + (knob & 0x3f);
  for (size_t i = 0; i < in.size(); i += step) b.feed(in.substr(i, step), split);
  b.finish(split);
  if (whole.size() != split.size()) std::abort();
  for (size_t i = 0; i < whole.size(); i++) {
    if (!same(whole[i], split[i])) std::abort();
    if (!whole[i].ok()) continue;
    auto again = parse_mi_line(to_mi(*whole[i]));
    if (!again.ok() || !(*again == *whole[i])) std::abort();
  }
  // The whole input as one line, terminators and all.
  auto line = parse_mi_line(in);
  if (line.ok()) {
    auto again = parse_mi_line(to_mi(*line));
    if (!again.ok() || !(*again == *line)) std::abort();
  }
  return 0;
}
