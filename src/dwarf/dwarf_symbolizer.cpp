#include "dwarf/dwarf_symbolizer.h"

namespace gorepro {

Result<std::unique_ptr<DwarfSymbolizer>> DwarfSymbolizer::load(const std::string& path) {
  return make_error("DWARF symbolizer not implemented yet for " + path);
}

std::vector<SourceFrame> DwarfSymbolizer::frames(uint64_t) const { return {}; }
std::string DwarfSymbolizer::function_name(uint64_t) const { return {}; }

}  // namespace gorepro
