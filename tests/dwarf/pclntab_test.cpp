// Pclntab against the truths that do not come from it: the .symtab of the unstripped build, the
// DWARF layout of runtime.moduledata, and what the Go runtime itself prints for marked sites.
#include "dwarf/pclntab.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "dwarf/elf_file.h"
#include "dwarf/symbolizer_support.h"
#include "support/go_programs.h"

namespace gorepro {
namespace {

using testing::built_go_versions;
using testing::go_program;

std::unique_ptr<ElfFile> open_elf(const std::string& path) {
  auto elf = ElfFile::open(path);
  EXPECT_TRUE(elf.ok()) << (elf.ok() ? "" : elf.error().message());
  return elf.ok() ? std::move(*elf) : nullptr;
}

std::optional<int64_t> gofunc_offset(const std::string& version) {
  return testing::dwarf_member_offset(go_program("symtest", version, false), "runtime.moduledata",
                                      "gofunc");
}

std::unique_ptr<Pclntab> load_pclntab(const ElfFile& elf, uint64_t gofunc) {
  auto t = Pclntab::load(elf, gofunc);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  return t.ok() ? std::move(*t) : nullptr;
}

TEST(Pclntab, FunctionTableMatchesSymtabEntriesAndSizes) {
  for (const auto& v : built_go_versions()) {
    SCOPED_TRACE("go" + v);
    auto elf = open_elf(go_program("symtest", v, false));
    ASSERT_TRUE(elf);
    auto t = load_pclntab(*elf, 0);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->magic(), v == "1.19" ? 0xfffffff0u : 0xfffffff1u);
    size_t checked = 0;
    for (const ElfSymbol& s : elf->symbols()) {
      if (s.type != STT_FUNC || s.size == 0) continue;
      // Linker-made markers (go:textfipsstart/end, Go 1.24+): in the pclntab too, where their
      // extent runs to the next function, past the symbol's size.
      const bool marker = s.name.starts_with("go:textfips");
      // Assembly functions are "pkg.name.abi0" in .symtab but "pkg.name" in the pclntab.
      std::string name = s.name;
      if (name.ends_with(".abi0")) name.resize(name.size() - 5);
      const Pclntab::Function* f = t->function_at(s.value);
      ASSERT_NE(f, nullptr) << name;
      // Go 1.19's linker stores generic names shortened, so several symbols may share one.
      // ELF symbols spell the middle dot of "pkg.T·4" as '.', the pclntab keeps it.
      std::string stored = f->name;
      for (size_t p; (p = stored.find("\u00b7")) != std::string::npos;) stored.replace(p, 2, ".");
      EXPECT_EQ(stored, v == "1.19" ? func_name_for_print(name) : name);
      EXPECT_EQ(f->entry, s.value) << name;
      if (!marker) {
        EXPECT_EQ(f->end, s.value + s.size) << name;
      }
      EXPECT_EQ(t->function_at(s.value + s.size - 1), f) << name;
      // An ABI wrapper shares its function's name; find() must prefer the function.
      if (f->name == name) {
        const Pclntab::Function* found = t->find(name);
        ASSERT_NE(found, nullptr) << name;
        if (found != f) {
          EXPECT_TRUE(f->wrapper && (!found->wrapper || found->entry < f->entry)) << name;
        }
      }
      checked++;
    }
    EXPECT_GT(checked, 1000u);
    EXPECT_EQ(checked, t->functions().size());
  }
}

TEST(Pclntab, FunctionAtExcludesPaddingAfterFunction) {
  for (const auto& v : built_go_versions()) {
    SCOPED_TRACE("go" + v);
    auto elf = open_elf(go_program("symtest", v, true));
    ASSERT_TRUE(elf);
    auto t = load_pclntab(*elf, 0);
    ASSERT_TRUE(t);
    const auto& fns = t->functions();
    size_t padded = 0;
    for (size_t i = 0; i + 1 < fns.size(); i++) {
      EXPECT_LE(fns[i].end, fns[i + 1].entry) << fns[i].name;
      if (fns[i].end < fns[i + 1].entry) {
        padded++;
        EXPECT_EQ(t->function_at(fns[i].end), nullptr) << fns[i].name;
      }
    }
    EXPECT_GT(padded, 0u);  // Go aligns functions to 32 bytes, so most are followed by padding
    EXPECT_EQ(t->function_at(fns.front().entry - 1), nullptr);
    EXPECT_EQ(t->function_name(fns.back().end), "");
  }
}

TEST(Pclntab, StrippedBinaryHasTheSameFunctionsAsPlainBuild) {
  for (const auto& v : built_go_versions()) {
    SCOPED_TRACE("go" + v);
    auto plain = open_elf(go_program("symtest", v, false));
    auto stripped = open_elf(go_program("symtest", v, true));
    ASSERT_TRUE(plain && stripped);
    EXPECT_FALSE(stripped->has_symtab());
    auto a = load_pclntab(*plain, 0), b = load_pclntab(*stripped, 0);
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->functions().size(), b->functions().size());
    for (size_t i = 0; i < a->functions().size(); i++) {
      EXPECT_EQ(a->functions()[i].name, b->functions()[i].name);
      EXPECT_EQ(a->functions()[i].end - a->functions()[i].entry,
                b->functions()[i].end - b->functions()[i].entry);
    }
    const Pclntab::Function* m = b->find("main.main");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(b->function_name(m->entry + 1), "main.main");
  }
}

TEST(Pclntab, FindsModuledataWithoutSymbols) {
  for (const auto& v : built_go_versions()) {
    SCOPED_TRACE("go" + v);
    auto plain = open_elf(go_program("symtest", v, false));
    ASSERT_TRUE(plain);
    const ElfSymbol* md = plain->symbol("runtime.firstmoduledata");
    ASSERT_NE(md, nullptr);
    EXPECT_EQ(Pclntab::find_moduledata(*plain), md->value);
    auto stripped = open_elf(go_program("symtest", v, true));
    ASSERT_TRUE(stripped);
    EXPECT_TRUE(Pclntab::find_moduledata(*stripped).has_value());
  }
}

// Two independent derivations of moduledata.gofunc's offset must agree: DWARF's
// DW_AT_data_member_location, and the word of the scanned moduledata equal to the go:func.*
// symbol. Then find_gofunc on the stripped build lands on a go:func.* whose inline trees work.
TEST(Pclntab, GofuncOffsetFromDwarfAgreesWithSymtabAndScan) {
  for (const auto& v : built_go_versions()) {
    SCOPED_TRACE("go" + v);
    auto plain = open_elf(go_program("symtest", v, false));
    ASSERT_TRUE(plain);
    auto dwarf_off = gofunc_offset(v);
    ASSERT_TRUE(dwarf_off.has_value());
    const ElfSymbol* sym = plain->symbol(v == "1.19" ? "go.func.*" : "go:func.*");
    ASSERT_NE(sym, nullptr);
    auto md = Pclntab::find_moduledata(*plain);
    ASSERT_TRUE(md.has_value());
    std::optional<int64_t> symtab_off;
    for (int64_t off = 0; off < 1024 && !symtab_off; off += 8) {
      auto w = plain->read(*md + off, 8);
      uint64_t word = 0;
      if (w) std::memcpy(&word, w->data(), 8);
      if (word == sym->value) symtab_off = off;
    }
    EXPECT_EQ(symtab_off, dwarf_off);
    std::printf("go%s: moduledata.gofunc offset %lld\n", v.c_str(), (long long)*dwarf_off);
    EXPECT_EQ(Pclntab::find_gofunc(*plain, std::nullopt), sym->value);
    auto stripped = open_elf(go_program("symtest", v, true));
    ASSERT_TRUE(stripped);
    EXPECT_EQ(Pclntab::find_gofunc(*stripped, std::nullopt), std::nullopt);
    auto gofunc = Pclntab::find_gofunc(*stripped, dwarf_off);
    ASSERT_TRUE(gofunc.has_value());
    const ElfSection* sec = stripped->section_at(*gofunc);
    ASSERT_NE(sec, nullptr);
    // Where the plain build's symbol is: .rodata, or from Go 1.26 inside .gopclntab's range.
    const ElfSection* sym_sec = plain->section_at(sym->value);
    ASSERT_NE(sym_sec, nullptr);
    EXPECT_EQ(sec->name, sym_sec->name);
  }
}

TEST(Pclntab, ExpandsInlinedFramesLikeTheGoRuntime) {
  for (const auto& v : built_go_versions()) {
    for (bool stripped : {false, true}) {
      SCOPED_TRACE("go" + v + (stripped ? " stripped" : ""));
      std::string path = go_program("symtest", v, stripped);
      auto elf = open_elf(path);
      ASSERT_TRUE(elf);
      auto gofunc = Pclntab::find_gofunc(*elf, gofunc_offset(v));
      ASSERT_TRUE(gofunc.has_value());
      auto t = load_pclntab(*elf, *gofunc);
      ASSERT_TRUE(t);
      EXPECT_TRUE(t->has_inline_tree());
      testing::expect_frames_match_runtime(path, *t);
    }
  }
}

TEST(Pclntab, WithoutGofuncReportsOnlyThePhysicalFunction) {
  for (const auto& v : built_go_versions()) {
    SCOPED_TRACE("go" + v);
    std::string path = go_program("symtest", v, true);
    auto elf = open_elf(path);
    ASSERT_TRUE(elf);
    auto t = load_pclntab(*elf, 0);
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->has_inline_tree());
    for (const auto& site : testing::parse_sites(testing::run_and_capture(path))) {
      auto got = t->frames(site.pc - 1);
      ASSERT_EQ(got.size(), 1u) << site.name;
      EXPECT_EQ(got[0].function, t->function_name(site.pc - 1));
      EXPECT_FALSE(got[0].inlined);
    }
  }
}

TEST(Pclntab, RejectsBinaryWithoutGopclntab) {
  auto elf = ElfFile::open("/bin/true");
  ASSERT_TRUE(elf.ok());
  auto t = Pclntab::load(**elf, 0);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().what.find(".gopclntab"), std::string::npos);
}

// Every prefix of the table and thousands of random corruptions either fail to load with an
// error or load into something that answers without reading out of bounds (ASan checks that).
TEST(Pclntab, SurvivesTruncatedAndCorruptedTables) {
  for (const auto& v : built_go_versions()) {
    SCOPED_TRACE("go" + v);
    auto elf = open_elf(go_program("symtest", v, true));
    ASSERT_TRUE(elf);
    auto bytes = elf->section_bytes(".gopclntab");
    std::vector<uint8_t> tab(bytes.begin(), bytes.end());
    auto gofunc_addr = Pclntab::find_gofunc(*elf, gofunc_offset(v));
    ASSERT_TRUE(gofunc_addr.has_value());
    const ElfSection* fsec = elf->section_at(*gofunc_addr);
    auto fbytes = elf->section_bytes(*fsec);
    std::vector<uint8_t> gofunc(fbytes.begin() + (*gofunc_addr - fsec->addr), fbytes.end());
    auto good = load_pclntab(*elf, *gofunc_addr);
    ASSERT_TRUE(good);
    std::vector<uint64_t> pcs;
    for (size_t i = 0; i < good->functions().size(); i += 37) {
      const auto& f = good->functions()[i];
      pcs.push_back(f.entry);
      pcs.push_back((f.entry + f.end) / 2);
    }
    auto exercise = [&](const Pclntab& t) {
      for (uint64_t pc : pcs) {
        auto fr = t.frames(pc);
        EXPECT_LE(fr.size(), 1000u);
        (void)t.function_name(pc);
      }
    };
    for (size_t len : {size_t(0), size_t(7), size_t(71), size_t(72), size_t(200), tab.size() / 3,
                       tab.size() / 2, tab.size() - 1}) {
      auto t = Pclntab::parse(std::vector<uint8_t>(tab.begin(), tab.begin() + len), *gofunc_addr, gofunc,
                              good->text_start());
      if (t.ok()) {
        exercise(**t);
      } else {
        EXPECT_FALSE(t.error().what.empty());
      }
    }
    for (size_t len : {size_t(0), size_t(3), gofunc.size() / 2}) {
      auto t = Pclntab::parse(tab, *gofunc_addr, std::vector<uint8_t>(gofunc.begin(), gofunc.begin() + len),
                              good->text_start());
      ASSERT_TRUE(t.ok());
      exercise(**t);
    }
    std::mt19937 rng(1234);
    int loaded = 0;
    for (int trial = 0; trial < 60; trial++) {
      std::vector<uint8_t> bad = tab;
      std::vector<uint8_t> badf = gofunc;
      for (int k = 0; k < 1 + trial % 10; k++) {
        bad[rng() % bad.size()] = uint8_t(rng());
        badf[rng() % badf.size()] = uint8_t(rng());
      }
      // Also clobber the header words sometimes: offsets and counts are the riskiest fields.
      if (trial % 3 == 0) bad[8 + rng() % 64] = uint8_t(rng());
      auto t = Pclntab::parse(std::move(bad), *gofunc_addr, std::move(badf), good->text_start());
      if (t.ok()) {
        loaded++;
        exercise(**t);
      }
    }
    std::printf("go%s: %d of 60 corrupted tables still loaded\n", v.c_str(), loaded);
  }
}

// A scratch copy of the stripped symtest binary, and where its .gopclntab lies in the file.
struct BinaryCopy {
  std::string path;
  uint64_t pclntab_offset = 0, pclntab_size = 0;
  ~BinaryCopy() { std::filesystem::remove(path); }
};

BinaryCopy copy_symtest(const std::string& tag) {
  BinaryCopy c;
  c.path = std::filesystem::temp_directory_path() / ("gorepro_pclntab_" + tag);
  std::filesystem::copy_file(go_program("symtest", built_go_versions().front(), true), c.path,
                             std::filesystem::copy_options::overwrite_existing);
  if (auto elf = open_elf(c.path)) {
    c.pclntab_offset = elf->section(".gopclntab")->offset;
    c.pclntab_size = elf->section(".gopclntab")->size;
  }
  return c;
}

// The file-level path: a copy of the binary with its .gopclntab header zeroed fails to load.
TEST(Pclntab, LoadReportsZeroedHeaderInBinaryCopy) {
  BinaryCopy copy = copy_symtest("zeroed");
  ASSERT_NE(copy.pclntab_offset, 0u);
  {
    std::fstream f(copy.path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(copy.pclntab_offset);
    std::vector<char> zeros(64, 0);
    f.write(zeros.data(), zeros.size());
  }
  auto elf = open_elf(copy.path);
  ASSERT_TRUE(elf);
  auto t = Pclntab::load(*elf, 0);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().what.find("magic"), std::string::npos) << t.error().what;
}

TEST(Pclntab, TruncatedBinaryFailsCleanly) {
  BinaryCopy copy = copy_symtest("truncated");
  ASSERT_NE(copy.pclntab_offset, 0u);
  std::filesystem::resize_file(copy.path, copy.pclntab_offset + copy.pclntab_size / 2);
  auto elf = ElfFile::open(copy.path);
  if (elf.ok()) {
    EXPECT_FALSE(Pclntab::load(**elf, 0).ok());
  } else {
    EXPECT_FALSE(elf.error().what.empty());
  }
}

}  // namespace
}  // namespace gorepro
