#include "replay/trace_symbols.h"

#include <fmt/format.h>

namespace gorepro::replay {

bool is_runtime_function(std::string_view name) {
  return name.starts_with("runtime.") || name.find(".runtime_") != std::string_view::npos;
}

std::string format_site(const SourceFrame& f) {
  if (f.file.empty()) return f.function;
  return fmt::format("{}:{}", f.file, f.line);
}

std::string format_frame(const SourceFrame& f) {
  return f.file.empty() ? f.function : fmt::format("{}  {}:{}", f.function, f.file, f.line);
}

const std::vector<SourceFrame>& TraceSymbols::lookup(uint64_t pc) const {
  auto [it, inserted] = frames_.try_emplace(pc);
  if (inserted) {
    if (symbolizer_) it->second = symbolizer_->frames(pc);
    if (it->second.empty()) it->second.push_back(SourceFrame{fmt::format("{:#x}", pc), "", 0, false});
  }
  return it->second;
}

SourceFrame TraceSymbols::creation_site(uint64_t gopc) const {
  if (gopc == 0) return SourceFrame{"?", "", 0, false};
  // Raw PCs keep the recorded value: that is what a user can look up with addr2line -a.
  if (!symbolizer_) return SourceFrame{fmt::format("{:#x}", gopc), "", 0, false};
  return lookup(gopc - 1).front();
}

std::string TraceSymbols::function_at(uint64_t pc) const {
  if (pc == 0) return "?";
  auto [it, inserted] = functions_.try_emplace(pc);
  if (inserted) {
    if (symbolizer_) it->second = symbolizer_->function_name(pc);
    if (it->second.empty()) it->second = fmt::format("{:#x}", pc);
  }
  return it->second;
}

std::vector<SourceFrame> TraceSymbols::frames(std::span<const uint64_t> pcs, bool first_exact) const {
  std::vector<SourceFrame> out;
  for (size_t i = 0; i < pcs.size(); ++i) {
    bool exact = (i == 0 && first_exact) || pcs[i] == 0 || !symbolizer_;
    const auto& f = lookup(exact ? pcs[i] : pcs[i] - 1);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

SourceFrame TraceSymbols::block_site(std::span<const uint64_t> pcs) const {
  if (pcs.empty()) return {};
  auto all = frames(pcs, /*first_exact=*/true);
  if (!symbolizer_) return all.front();
  // Past the runtime's frames — and package iter's: a coroutine (iter.Pull) waits inside
  // iter's yield wrapper, and the line that matters is the program's iterator calling yield.
  for (auto& f : all)
    if (!is_runtime_function(f.function) && !f.function.starts_with("iter.")) return f;
  return all.back();
}

}  // namespace gorepro::replay
