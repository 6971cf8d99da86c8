// folded: Brendan Gregg's collapsed-stack format, root first, one line per distinct stack.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "export/pprof_export.h"

namespace gorepro::exporting {

Status write_folded(const replay::TraceSymbols& symbols, const GoroutineStacks& stacks, std::FILE* out,
                    const std::string& root_label) {
  std::map<std::string, uint64_t> lines;
  for (const StackGroup& g : stacks.groups) {
    auto frames = group_frames(g, symbols);
    std::string line;
    if (!root_label.empty()) {
      const std::string* v = replay::label_value(g.labels, root_label);
      line = v ? "label:" + root_label + "=" + *v : "label:(no " + root_label + ")";
      std::replace(line.begin(), line.end(), ';', ',');
    }
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      if (!line.empty()) line += ';';
      std::string name = it->function;
      std::replace(name.begin(), name.end(), ';', ',');  // ';' separates frames
      line += name;
    }
    lines[line] += g.goroutines;
  }
  std::vector<std::pair<std::string, uint64_t>> sorted(lines.begin(), lines.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [line, n] : sorted)
    if (fmt::print(out, "{} {}\n", line, n); std::ferror(out))
      return make_error("cannot write the folded stacks", "check the output file's disk and permissions");
  return Ok{};
}

}  // namespace gorepro::exporting
