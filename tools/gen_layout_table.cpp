// gen_layout_table BINARY...: prints the runtime layout table (src/dwarf/layout_table.json) built
// from the DWARF of unstripped Go binaries, one entry per Go minor version. Used by
// scripts/gen-layout-table.sh; the table is what gorepro falls back to for stripped binaries.
#include <cstdio>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "dwarf/go_binary.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gen_layout_table UNSTRIPPED_GO_BINARY...\n");
    return 2;
  }
  nlohmann::json table = nlohmann::json::object();
  for (int i = 1; i < argc; i++) {
    auto b = gorepro::GoBinary::open(argv[i]);
    if (!b) {
      std::fprintf(stderr, "gen_layout_table: %s\n", b.error().message().c_str());
      return 1;
    }
    if (!(*b)->has_dwarf()) {
      std::fprintf(stderr, "gen_layout_table: %s has no DWARF — pass unstripped binaries\n", argv[i]);
      return 1;
    }
    nlohmann::json entry = (*b)->layout().to_json();
    entry["generated_from"] = (*b)->go_version();
    table[(*b)->version().minor_name()] = entry;
  }
  fmt::print("{}\n", table.dump(1));
  return 0;
}
