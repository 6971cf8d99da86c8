#include "replay/site_pattern.h"

#include <fmt/format.h>

namespace gorepro::replay {

Result<SitePattern> SitePattern::parse(const std::string& text) {
  SitePattern p;
  p.text_ = text;
  if (text.empty()) return make_error("empty site", "give FILE:LINE (main.go:42) or a function regex (main\\.worker)");
  auto colon = text.rfind(':');
  if (colon != std::string::npos && colon > 0 && colon + 1 < text.size() &&
      text.find_first_not_of("0123456789", colon + 1) == std::string::npos && text.size() - colon <= 10) {
    p.file_ = text.substr(0, colon);
    p.line_ = std::stoi(text.substr(colon + 1));
    if (p.line_ > 0) return p;
  }
  try {
    p.regex_ = std::regex(text, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return make_error(fmt::format("bad site '{}': not FILE:LINE, and not a regex ({})", text, e.what()),
                      "give FILE:LINE (main.go:42) or an ECMAScript regex of a function (main\\.worker)");
  }
  p.line_ = 0;
  return p;
}

bool SitePattern::matches(const SourceFrame& f) const {
  if (line_ > 0) return f.line == line_ && f.file.ends_with(file_);
  return matches_function(f.function);
}

bool SitePattern::matches_function(const std::string& name) const {
  return line_ == 0 && std::regex_search(name, regex_);
}

bool SiteMatcher::creation_matches(uint64_t gopc, uint64_t start_pc) const {
  auto [it, inserted] = gopc_memo_.try_emplace(gopc, false);
  if (inserted) it->second = pattern_.matches(symbols_.creation_site(gopc));
  if (it->second || pattern_.is_file_line()) return it->second;
  auto [st, st_inserted] = start_memo_.try_emplace(start_pc, false);
  if (st_inserted) st->second = pattern_.matches_function(symbols_.function_at(start_pc));
  return st->second;
}

bool SiteMatcher::park_matches(StackId block_stack) const {
  auto [it, inserted] = stack_memo_.try_emplace(block_stack, false);
  if (inserted) {
    auto pcs = reader_.stack(block_stack);
    if (pattern_.is_file_line()) {
      it->second = !pcs.empty() && pattern_.matches(symbols_.block_site(pcs));
    } else {
      for (const auto& f : symbols_.frames(pcs, /*first_exact=*/true))
        if (pattern_.matches_function(f.function)) it->second = true;
    }
  }
  return it->second;
}

bool SiteMatcher::event_matches(const Event& e) const {
  switch (e.kind) {
    case EventKind::Create:
    case EventKind::Preexisting: return creation_matches(e.pc, e.start_pc);
    case EventKind::Park: return park_matches(e.stack);
    default: return false;
  }
}

}  // namespace gorepro::replay
