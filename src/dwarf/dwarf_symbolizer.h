// DwarfSymbolizer: PC → frames from a Go binary's DWARF (.debug_line rows plus the
// DW_TAG_subprogram / DW_TAG_inlined_subroutine tree), read once with libdwarf into sorted
// tables so lookups do not touch libdwarf again. It answers like Pclntab: innermost frame first,
// inlined frames flagged, the caller's line being the inlined call's DW_AT_call_line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dwarf/symbolizer.h"
#include "util/result.h"

namespace gorepro {

class DwarfSymbolizer final : public Symbolizer {
 public:
  // Reads the DWARF of the executable at path; an error when it has none (-ldflags=-w).
  static Result<std::unique_ptr<DwarfSymbolizer>> load(const std::string& path);

  std::vector<SourceFrame> frames(uint64_t pc) const override;
  std::string function_name(uint64_t pc) const override;

  // One .debug_line row range: [lo, hi) maps to file:line.
  struct LineRange {
    uint64_t lo = 0, hi = 0;
    uint32_t file = 0;  // index into files_
    int line = 0;
  };
  // Line-table rows in address order (each sequence's rows, end_sequence rows dropped). Tests use
  // them as the PCs where DWARF has an opinion.
  const std::vector<LineRange>& line_ranges() const { return lines_; }

  struct Subprogram {
    std::string name;
    uint64_t lo = 0, hi = 0;
    uint32_t inline_begin = 0, inline_end = 0;  // its slice of inline_ranges_
    // DW_AT_trampoline: a compiler-generated wrapper. Go describes no inlined calls inside
    // wrappers, and since Go 1.22 gives them no line rows either, where .gopclntab has both.
    bool trampoline = false;
  };
  // Concrete (physical) functions in address order.
  const std::vector<Subprogram>& subprograms() const { return subprograms_; }
  const Subprogram* subprogram_at(uint64_t pc) const;

 private:
  friend struct DwarfLoader;
  DwarfSymbolizer() = default;

  // An inlined call: DW_TAG_inlined_subroutine, its callee's name, where it was called from.
  struct InlinedCall {
    std::string name;
    uint32_t call_file = 0;  // index into files_
    int call_line = 0;
    int32_t parent = -1;  // enclosing InlinedCall, or -1 for the subprogram itself
    int depth = 0;
  };
  struct InlineRange {
    uint64_t lo = 0, hi = 0;
    uint32_t call = 0;  // index into inlined_
  };

  const LineRange* line_at(uint64_t pc) const;

  std::vector<std::string> files_;
  std::vector<LineRange> lines_;
  std::vector<Subprogram> subprograms_;
  std::vector<InlinedCall> inlined_;
  std::vector<InlineRange> inline_ranges_;
};

}  // namespace gorepro
