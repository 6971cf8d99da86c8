// Ground truth for the symbolizer tests, obtained independently of the code under test: what the
// Go runtime itself reports for the marked sites of a program (runtime.CallersFrames), and
// runtime.moduledata's layout read straight from DWARF with libdwarf.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <dwarf.h>
#include <gtest/gtest.h>
#include <libdwarf.h>

#include "dwarf/symbolizer.h"

namespace gorepro::testing {

inline std::string run_and_capture(const std::string& path) {
  std::string out;
  FILE* p = ::popen((path + " 2>/dev/null").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// One line "site NAME pc=0x... frames=fn@file:line;fn@file:line" printed by a program: pc is a
// return address as runtime.Callers gives it, frames what runtime.CallersFrames made of it and
// its callers (innermost first).
struct RuntimeSite {
  std::string name;
  uint64_t pc = 0;
  std::vector<SourceFrame> frames;  // .inlined is not known from the output and stays false
};

inline std::vector<RuntimeSite> parse_sites(const std::string& output) {
  std::vector<RuntimeSite> sites;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("site ", 0) != 0) continue;
    std::istringstream words(line.substr(5));
    RuntimeSite s;
    std::string word;
    words >> s.name;
    while (words >> word) {
      if (word.rfind("pc=", 0) == 0) s.pc = std::stoull(word.substr(3), nullptr, 16);
      if (word.rfind("frames=", 0) == 0) {
        std::istringstream fs(word.substr(7));
        for (std::string f; std::getline(fs, f, ';');) {
          auto at = f.find('@');
          auto colon = f.rfind(':');
          if (at == std::string::npos || colon == std::string::npos || colon < at) continue;
          s.frames.push_back(SourceFrame{f.substr(0, at), f.substr(at + 1, colon - at - 1),
                                         std::stoi(f.substr(colon + 1)), false});
        }
      }
    }
    sites.push_back(std::move(s));
  }
  return sites;
}

// frames(pc-1) for a return address must be the runtime's own frames for that physical frame.
inline void expect_frames_match_runtime(const std::string& path, const Symbolizer& s) {
  auto sites = parse_sites(run_and_capture(path));
  ASSERT_FALSE(sites.empty()) << path << " printed no sites";
  for (const auto& site : sites) {
    SCOPED_TRACE(site.name);
    auto got = s.frames(site.pc - 1);
    ASSERT_FALSE(got.empty());
    ASSERT_EQ(got.size(), site.frames.size());
    for (size_t i = 0; i < got.size(); i++) {
      EXPECT_EQ(got[i].function, site.frames[i].function) << i;
      EXPECT_EQ(got[i].file, site.frames[i].file) << i;
      EXPECT_EQ(got[i].line, site.frames[i].line) << i;
      EXPECT_EQ(got[i].inlined, i + 1 < got.size()) << i;
    }
    EXPECT_EQ(s.function_name(site.pc - 1), got.back().function);
    if (site.name.find("inline") != std::string::npos) {
      EXPECT_GE(got.size(), 2u);
    }
  }
}

// Offset of field `member` in struct `type_name`, from the DWARF of the binary at path.
inline std::optional<int64_t> dwarf_member_offset(const std::string& path, const std::string& type_name,
                                                  const std::string& member) {
  Dwarf_Debug dbg = nullptr;
  Dwarf_Error err = nullptr;
  if (dwarf_init_path(path.c_str(), nullptr, 0, DW_DLC_READ, DW_GROUPNUMBER_ANY, nullptr, nullptr,
                      &dbg, nullptr, 0, nullptr, &err) != DW_DLV_OK) {
    return std::nullopt;
  }
  std::optional<int64_t> found;
  Dwarf_Unsigned next_cu = 0;
  Dwarf_Half cu_type = 0;
  while (!found && dwarf_next_cu_header_d(dbg, true, nullptr, nullptr, nullptr, nullptr, nullptr,
                                          nullptr, nullptr, nullptr, &next_cu, &cu_type, &err) == DW_DLV_OK) {
    Dwarf_Die cu = nullptr;
    if (dwarf_siblingof_b(dbg, nullptr, true, &cu, &err) != DW_DLV_OK) continue;
    Dwarf_Die die = nullptr;
    int res = dwarf_child(cu, &die, &err);
    while (res == DW_DLV_OK && !found) {
      Dwarf_Half tag = 0;
      char* name = nullptr;
      if (dwarf_tag(die, &tag, &err) == DW_DLV_OK && tag == DW_TAG_structure_type &&
          dwarf_diename(die, &name, &err) == DW_DLV_OK && type_name == name) {
        Dwarf_Die m = nullptr;
        int mres = dwarf_child(die, &m, &err);
        while (mres == DW_DLV_OK) {
          char* mname = nullptr;
          if (dwarf_diename(m, &mname, &err) == DW_DLV_OK && member == mname) {
            Dwarf_Attribute attr = nullptr;
            Dwarf_Unsigned off = 0;
            if (dwarf_attr(m, DW_AT_data_member_location, &attr, &err) == DW_DLV_OK) {
              if (dwarf_formudata(attr, &off, &err) == DW_DLV_OK) found = int64_t(off);
              dwarf_dealloc_attribute(attr);
            }
          }
          Dwarf_Die next = nullptr;
          mres = dwarf_siblingof_b(dbg, m, true, &next, &err);
          dwarf_dealloc_die(m);
          m = next;
        }
      }
      Dwarf_Die next = nullptr;
      res = dwarf_siblingof_b(dbg, die, true, &next, &err);
      dwarf_dealloc_die(die);
      die = next;
    }
    if (res == DW_DLV_OK) dwarf_dealloc_die(die);
    dwarf_dealloc_die(cu);
  }
  // dwarf_finish also frees the DIEs an early exit from the loops above left allocated.
  dwarf_finish(dbg, &err);
  return found;
}

}  // namespace gorepro::testing
