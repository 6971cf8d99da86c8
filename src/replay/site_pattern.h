// SitePattern: how a user names a place in the traced program on the replay/diff command line —
// `FILE:LINE` (FILE matches the recorded path by suffix, so `main.go:12` works) or an ECMAScript
// regex searched in function names (`main\.worker`). Without symbols, function names are the raw
// PCs in hex (`0x4a1005`), so a regex can still select a site.
// SiteMatcher answers "is this event at the pattern's site" for create and park events, memoized
// per PC / stack id: a trace has few distinct sites and millions of events.
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

#include "dwarf/symbolizer.h"
#include "replay/event.h"
#include "replay/trace_reader.h"
#include "replay/trace_symbols.h"
#include "util/result.h"

namespace gorepro::replay {

class SitePattern {
 public:
  static Result<SitePattern> parse(const std::string& text);

  const std::string& text() const { return text_; }
  // FILE:LINE against the frame's file and line; a regex against its function.
  bool matches(const SourceFrame& f) const;
  bool matches_function(const std::string& name) const;
  bool is_file_line() const { return line_ > 0; }

 private:
  std::string text_;
  std::string file_;
  int line_ = 0;
  std::regex regex_;
};

// Sites of events: a create is at its go statement or start function; a park at its block
// site (FILE:LINE) or at any function of its block stack (regex).
class SiteMatcher {
 public:
  SiteMatcher(SitePattern pattern, const TraceReader& reader, const TraceSymbols& symbols)
      : pattern_(std::move(pattern)), reader_(reader), symbols_(symbols) {}

  const SitePattern& pattern() const { return pattern_; }
  bool creation_matches(uint64_t gopc, uint64_t start_pc) const;
  bool park_matches(StackId block_stack) const;
  // Create and Preexisting by their creation, Park by its block site; other kinds never.
  bool event_matches(const Event& e) const;

 private:
  SitePattern pattern_;
  const TraceReader& reader_;
  const TraceSymbols& symbols_;
  mutable std::unordered_map<uint64_t, bool> gopc_memo_, start_memo_;
  mutable std::unordered_map<StackId, bool> stack_memo_;
};

}  // namespace gorepro::replay
