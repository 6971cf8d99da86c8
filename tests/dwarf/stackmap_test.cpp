// The stack-map decoder (dwarf/stackmap.h) against what the Go source of tests/go/stackmaps
// implies — which functions hold pointers on their stack, which variables are stack objects and
// how big — on every Go version, unstripped (go:func.* from .symtab) and stripped (go:func.*
// through runtime.moduledata, whose field offset is read from the unstripped build's DWARF).
#include "dwarf/stackmap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dwarf/elf_file.h"
#include "dwarf/symbolizer_support.h"
#include "support/go_programs.h"

namespace gorepro {
namespace {

using testing::built_go_versions;
using testing::go_program;

struct Loaded {
  std::unique_ptr<ElfFile> elf;
  std::unique_ptr<Pclntab> tab;
};

Loaded load(const std::string& version, bool stripped) {
  Loaded l;
  auto elf = ElfFile::open(go_program("stackmaps", version, stripped));
  EXPECT_TRUE(elf.ok()) << (elf.ok() ? "" : elf.error().message());
  if (!elf.ok()) return l;
  l.elf = std::move(*elf);
  auto gofunc = Pclntab::find_gofunc(
      *l.elf, testing::dwarf_member_offset(go_program("stackmaps", version, false), "runtime.moduledata", "gofunc"));
  EXPECT_TRUE(gofunc.has_value()) << "go:func.* not found";
  auto t = Pclntab::load(*l.elf, gofunc.value_or(0));
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  if (t.ok()) l.tab = std::move(*t);
  return l;
}

// Runs check on stackmaps' table of every version, unstripped and stripped.
template <class F>
void for_each_build(F check) {
  for (const auto& v : built_go_versions()) {
    for (bool stripped : {false, true}) {
      SCOPED_TRACE(fmt::format("go{}{}", v, stripped ? " stripped" : ""));
      Loaded l = load(v, stripped);
      ASSERT_TRUE(l.tab);
      check(*l.tab);
    }
  }
}

// The number of set bits of each of f's locals bitmaps.
std::vector<int> locals_popcounts(const Pclntab& t, const Pclntab::Function& f) {
  std::vector<int> out;
  auto m = parse_stack_map(t.funcdata(f, kFuncdataLocalsPointerMaps));
  EXPECT_TRUE(m.has_value()) << f.name << " has no locals map";
  if (!m) return out;
  EXPECT_GT(m->n, 0) << f.name;
  for (int32_t i = 0; i < m->n; i++) {
    int n = 0;
    for (uint8_t b : m->bitmap(i)) n += std::popcount(b);
    out.push_back(n);
  }
  return out;
}

TEST(StackMap, LocalsMapsHoldThePointersTheSourceKeepsAcrossCalls) {
  for_each_build([](const Pclntab& t) {
    const Pclntab::Function* one = t.find("main.holdsOne");
    const Pclntab::Function* none = t.find("main.noPointers");
    ASSERT_TRUE(one && none);
    auto ones = locals_popcounts(t, *one);
    ASSERT_FALSE(ones.empty());
    // p alone, live at the first call to spin only.
    EXPECT_EQ(*std::max_element(ones.begin(), ones.end()), 1) << fmt::format("{}", fmt::join(ones, " "));
    for (int n : locals_popcounts(t, *none)) EXPECT_EQ(n, 0);
    // The map in force at each call: the index table covers the calls, and holdsOne's index
    // with p's bit is in force somewhere in its code.
    bool p_live = false;
    auto m = parse_stack_map(t.funcdata(*one, kFuncdataLocalsPointerMaps));
    for (uint64_t pc = one->entry; pc < one->end; pc++) {
      auto ix = t.pcdata(*one, kPcdataStackMapIndex, pc);
      if (ix && *ix >= 0 && *ix < static_cast<int32_t>(ones.size()) && ones[*ix] == 1) p_live = true;
    }
    EXPECT_TRUE(p_live && m);
    // Frame sizes: none at the entry (nothing pushed yet), a frame further in (p's slot).
    auto at_entry = t.sp_delta(*one, one->entry);
    ASSERT_TRUE(at_entry.has_value());
    EXPECT_EQ(*at_entry, 0);
    int32_t biggest = 0;
    for (uint64_t pc = one->entry; pc < one->end; pc++) biggest = std::max(biggest, t.sp_delta(*one, pc).value_or(0));
    EXPECT_GE(biggest, 8);
  });
}

TEST(StackMap, StackObjectsAreTheAddressTakenPointerVariables) {
  for_each_build([](const Pclntab& t) {
    const Pclntab::Function* f = t.find("main.objects");
    ASSERT_TRUE(f);
    auto objs = parse_stack_objects(t.funcdata(*f, kFuncdataStackObjects));
    ASSERT_TRUE(objs.has_value());
    std::vector<std::pair<int32_t, int32_t>> got;  // (size, pointer bytes)
    for (const auto& o : *objs) {
      got.emplace_back(o.size, o.ptr_bytes);
      EXPECT_LT(o.off, 0) << "locals count down from varp";
    }
    std::sort(got.begin(), got.end());
    const std::vector<std::pair<int32_t, int32_t>> want = {{16, 8}, {32, 32}};
    EXPECT_EQ(got, want);
    // A function without address-taken variables has none.
    EXPECT_TRUE(t.funcdata(*t.find("main.noPointers"), kFuncdataStackObjects).empty());
  });
}

// What the walk cannot decode is left to the conservative scan, from the frame it stopped at.
TEST(StackMap, AnUndecodableFrameLeavesTheRestOfTheStackToTheConservativeScan) {
  for_each_build([](const Pclntab& t) {
    std::vector<uint8_t> stack(256);
    const uint64_t sp = 0x7000'0000, hi = sp + stack.size();
    StackRoots r = stack_roots(t, 0, stack, sp, hi, /*pc in no function*/ 1);
    EXPECT_EQ(r.conservative_from, sp);
    EXPECT_EQ(r.frames, 0);
    EXPECT_FALSE(r.stopped.empty());
    // An asyncPreempt frame: the frame it interrupted was at a non-safe point.
    const Pclntab::Function* ap = t.find("runtime.asyncPreempt");
    ASSERT_TRUE(ap);
    r = stack_roots(t, 0, stack, sp, hi, ap->entry + 1);
    EXPECT_EQ(r.conservative_from, sp);
    EXPECT_EQ(r.stopped, "runtime.asyncPreempt");
  });
}

}  // namespace
}  // namespace gorepro
