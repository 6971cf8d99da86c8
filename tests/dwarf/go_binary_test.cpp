// GoBinary over real binaries built by the test suite with every supported Go toolchain, plain
// and stripped. Expected values come from outside gorepro: the Go runtime sources installed with
// each toolchain, the raw bytes of the binary, and facts stated in the Go release history.
#include "dwarf/go_binary.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "binary_edits.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

using testing::built_go_versions;
using testing::go_program;

const char kProgram[] = "sendleak";

using testing::read_file;
using testing::with_version;

int minor_of(const std::string& v) { return std::stoi(v.substr(v.find('.') + 1)); }

TEST(GoBinary, EveryToolchainIsBuilt) {
  // A toolchain missing at configure time must fail loudly, not shrink the test matrix.
  EXPECT_EQ(testing::found_go_versions(), testing::supported_go_versions());
}

TEST(GoBinary, SupportedVersionsAreTheTestMatrixAndHaveTables) {
  std::vector<std::string> want;
  for (const std::string& v : testing::supported_go_versions()) want.push_back("go" + v);
  EXPECT_EQ(supported_go_minors(), want) << "regenerate src/dwarf/layout_table.json with scripts/gen-layout-table.sh";
  EXPECT_EQ(RuntimeLayout::table_versions(), want);
}

TEST(GoBinary, ReadsVersionAndModuleFromBuildInfoPlainAndStripped) {
  for (const std::string& v : built_go_versions()) {
    for (bool stripped : {false, true}) {
      SCOPED_TRACE(v + (stripped ? " stripped" : ""));
      auto b = GoBinary::open(go_program(kProgram, v, stripped));
      ASSERT_TRUE(b) << b.error().message();
      EXPECT_EQ((*b)->version().minor_name(), "go" + v);
      EXPECT_EQ((*b)->build_info().module_path, "gorepro/examples/sendleak");
      EXPECT_EQ((*b)->has_dwarf(), !stripped);
      EXPECT_EQ((*b)->has_symtab(), !stripped);
      EXPECT_EQ((*b)->layout().source, stripped ? LayoutSource::kTable : LayoutSource::kDwarf);
      EXPECT_FALSE((*b)->build_id().empty());
    }
  }
}

TEST(GoBinary, DwarfLayoutEqualsCheckedInTable) {
  for (const std::string& v : built_go_versions()) {
    SCOPED_TRACE(v);
    auto b = GoBinary::open(go_program(kProgram, v, false));
    ASSERT_TRUE(b) << b.error().message();
    auto table = RuntimeLayout::from_table("go" + v);
    ASSERT_TRUE(table) << table.error().message();
    const RuntimeLayout& dwarf = (*b)->layout();
    // The label types are in the DWARF of programs that link runtime/pprof only; the table's
    // probe program does (held against labelleak below).
    // So are sync.Cond and runtime.notifyList in programs that use a Cond (held against
    // verdict_condforgot below).
    auto without_labels = [](std::map<std::string, int64_t> m) {
      std::erase_if(m, [](const auto& kv) { return kv.first.starts_with("labels.") || kv.first.starts_with("Cond.") ||
                           kv.first.starts_with("notifyList.");
      });
      return m;
    };
    EXPECT_EQ(without_labels(dwarf.offsets), without_labels(table->offsets)) << "regenerate with scripts/gen-layout-table.sh";
    EXPECT_EQ(dwarf.constants, table->constants);
    EXPECT_EQ(dwarf.wait_reasons, table->wait_reasons);
    EXPECT_EQ(dwarf.to_json()["args"], table->to_json()["args"]);
    EXPECT_EQ(dwarf.pointer_words, table->pointer_words) << "regenerate with scripts/gen-layout-table.sh";
  }
}

// pprof labels: a map[string]string up to Go 1.23, a struct holding a slice from 1.24 — which
// form a binary has is which keys its layout holds, from DWARF as from the table.
TEST(GoBinary, LabelLayoutFromDwarfEqualsTheTableAndHasOneForm) {
  for (const std::string& v : built_go_versions()) {
    SCOPED_TRACE(v);
    auto b = GoBinary::open(go_program("labelleak", v, false));
    ASSERT_TRUE(b) << b.error().message();
    auto table = RuntimeLayout::from_table("go" + v);
    ASSERT_TRUE(table) << table.error().message();
    std::map<std::string, int64_t> dwarf_labels, table_labels;
    for (const auto& [k, off] : (*b)->layout().offsets) if (k.starts_with("labels.")) dwarf_labels[k] = off;
    for (const auto& [k, off] : table->offsets) if (k.starts_with("labels.")) table_labels[k] = off;
    EXPECT_EQ(dwarf_labels, table_labels) << "regenerate with scripts/gen-layout-table.sh";
    // runtime/pprof/label.go of each toolchain: `type labelMap map[string]string` through 1.23.
    const bool map_form = minor_of(v) <= 23;
    EXPECT_EQ(dwarf_labels.count("labels.bucket.keys"), map_form ? 1u : 0u);
    EXPECT_EQ(dwarf_labels.count("labels.set.list"), map_form ? 0u : 1u);
  }
}

// sync.Cond and the runtime's notifyList (a Cond waiter's wait object in the verdict scan) are in
// the DWARF of programs that use a Cond only; the table's probe program signals one.
TEST(GoBinary, CondLayoutFromDwarfEqualsTheTable) {
  for (const std::string& v : built_go_versions()) {
    SCOPED_TRACE(v);
    auto b = GoBinary::open(go_program("verdict_condforgot", v, false));
    ASSERT_TRUE(b) << b.error().message();
    auto table = RuntimeLayout::from_table("go" + v);
    ASSERT_TRUE(table) << table.error().message();
    for (const char* key : {"Cond.notify", "notifyList.head"}) {
      ASSERT_TRUE((*b)->layout().offset(key).has_value()) << key;
      EXPECT_EQ((*b)->layout().offset(key), table->offset(key)) << key << ": regenerate with scripts/gen-layout-table.sh";
    }
  }
}

TEST(GoBinary, GoidOffsetMovedIn123AndBackIn126) {
  // runtime.g gained syscallbp before goid in Go 1.23 (goid 152 -> 160); Go 1.26 dropped the
  // 8 bytes of the gobuf's unused ret field (sched.bp 104 -> 96), so goid is back at 152.
  for (const std::string& v : built_go_versions()) {
    for (bool stripped : {false, true}) {
      auto b = GoBinary::open(go_program(kProgram, v, stripped));
      ASSERT_TRUE(b) << b.error().message();
      EXPECT_EQ((*b)->layout().offset("g.goid"), minor_of(v) == 23 ? 160 : 152) << v;
    }
  }
}

// record --schedtrace paces the runtime's dumps by rewriting runtime.debug.schedtrace (found in
// the runtime's table of GODEBUG settings, without symbols). Every version's runtime1.go declares
// `scheddetail int32` right before `schedtrace int32` in that struct; the symbol, where present,
// bounds the struct. (That the runtime really reads it is held live by Schedtrace.ScheddetailOn
// TwentyThousandDeadGoroutinesStaysWithinItsBoundOfPlainRecord: the pacer checks the value first.)
TEST(GoBinary, GodebugSettingFindsRuntimeDebugSchedtraceWithAndWithoutSymbols) {
  for (const std::string& v : built_go_versions()) {
    for (bool stripped : {false, true}) {
      SCOPED_TRACE(v + (stripped ? " stripped" : ""));
      auto b = GoBinary::open(go_program(kProgram, v, stripped));
      ASSERT_TRUE(b) << b.error().message();
      auto trace = (*b)->godebug_setting("schedtrace"), detail = (*b)->godebug_setting("scheddetail");
      ASSERT_TRUE(trace && detail);
      EXPECT_EQ(*trace, *detail + 4);
      EXPECT_FALSE((*b)->godebug_setting("nosuchsetting"));
      if (const ElfSymbol* debug = (*b)->elf().symbol("runtime.debug")) {
        EXPECT_GE(*detail, debug->value);
        EXPECT_LE(*trace + 4, debug->value + debug->size);
      } else {
        EXPECT_TRUE(stripped);
      }
    }
  }
}

TEST(GoBinary, ParentGoidFieldExistsFrom121) {
  for (const std::string& v : built_go_versions()) {
    auto b = GoBinary::open(go_program(kProgram, v, false));
    ASSERT_TRUE(b);
    EXPECT_EQ((*b)->layout().offset("g.parentGoid").has_value(), minor_of(v) >= 21) << v;
  }
}

// The runtime's own declaration of newproc1 in each toolchain's sources says which parameters
// it has; the registers follow Go's ABIInternal integer order.
TEST(GoBinary, Newproc1ArgumentRegistersFollowEachVersionsSignature) {
  const char* int_regs[] = {"RAX", "RBX", "RCX", "RDI", "RSI", "R8", "R9", "R10", "R11"};
  for (const std::string& v : built_go_versions()) {
    SCOPED_TRACE(v);
    std::string src = read_file(testing::go_root(v) + "/src/runtime/proc.go");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(src, m, std::regex(R"(\nfunc newproc1\(([^)]*)\))")));
    std::vector<std::string> names;
    std::stringstream ss(m[1].str());
    for (std::string part; std::getline(ss, part, ',');) {
      std::smatch pm;
      ASSERT_TRUE(std::regex_search(part, pm, std::regex(R"(^\s*(\w+))")));
      names.push_back(pm[1]);
    }
    EXPECT_EQ(names.size(), minor_of(v) >= 23 ? 5u : 3u);
    for (bool stripped : {false, true}) {
      auto b = GoBinary::open(go_program(kProgram, v, stripped));
      ASSERT_TRUE(b);
      for (size_t i = 0; i < names.size(); i++) {
        EXPECT_EQ((*b)->layout().arg_register("runtime.newproc1", names[i]), std::string(int_regs[i]))
            << names[i];
      }
      EXPECT_EQ((*b)->layout().arg_register("runtime.newproc1", "~r0"), "RAX");
      EXPECT_EQ((*b)->layout().arg_register("runtime.ready", "gp"), "RAX");
    }
  }
}

// The wait-reason strings read from the binary are exactly those in the toolchain's runtime2.go.
TEST(GoBinary, WaitReasonsMatchRuntimeSources) {
  for (const std::string& v : built_go_versions()) {
    SCOPED_TRACE(v);
    std::string src = read_file(testing::go_root(v) + "/src/runtime/runtime2.go");
    size_t start = src.find("var waitReasonStrings = [...]string{");
    ASSERT_NE(start, std::string::npos);
    size_t end = src.find("\n}", start);
    std::string block = src.substr(start, end - start);
    std::set<std::string> expected;
    std::regex entry(R"re(waitReason\w+:\s*"([^"]*)")re");
    for (std::sregex_iterator it(block.begin(), block.end(), entry), e; it != e; ++it) {
      if (!(*it)[1].str().empty()) expected.insert((*it)[1]);
    }
    ASSERT_GT(expected.size(), 20u);
    for (bool stripped : {false, true}) {
      auto b = GoBinary::open(go_program(kProgram, v, stripped));
      ASSERT_TRUE(b);
      std::set<std::string> got;
      for (const std::string& s : (*b)->layout().wait_reasons) {
        if (!s.empty()) got.insert(s);
      }
      EXPECT_EQ(got, expected);
    }
  }
}

TEST(GoBinary, FindsEveryProbeWithReturnSitesOnARetOrTheBranchOfItsEpilogue) {
  for (const std::string& v : built_go_versions()) {
    for (bool stripped : {false, true}) {
      SCOPED_TRACE(v + (stripped ? " stripped" : ""));
      auto b = GoBinary::open(go_program(kProgram, v, stripped));
      ASSERT_TRUE(b);
      // Every probe but the optional ones (coroutines: linked only when a program uses them).
      for (const ProbeSpec& spec : probe_specs()) {
        if (!spec.optional) {
          EXPECT_NE((*b)->probe(spec.role), nullptr) << spec.role;
        }
      }
      for (const Probe& p : (*b)->probes()) {
        ASSERT_FALSE(p.addresses.empty()) << p.function.name;
        EXPECT_EQ(p.addresses.size(), p.insns.size());
        for (uint64_t a : p.addresses) {
          EXPECT_GE(a, p.function.entry);
          EXPECT_LT(a, p.function.end);
          auto byte = (*b)->elf().read(a, 1);
          ASSERT_TRUE(byte);
          if (p.at == ProbeAt::kReturn) {
            // A near RET, or the conditional jump that starts its epilogue (Disassembler::
            // exit_sites): newproc1's always is one — its RET would be single-stepped by uprobes.
            auto code = (*b)->elf().read(a, 2);
            ASSERT_TRUE(code);
            const bool jcc = ((*code)[0] >= 0x70 && (*code)[0] <= 0x7f) ||
                             ((*code)[0] == 0x0f && (*code)[1] >= 0x80 && (*code)[1] <= 0x8f);
            EXPECT_TRUE((*byte)[0] == 0xc3 || jcc) << p.function.name << " site " << a;
            if (p.role == "create") { EXPECT_TRUE(jcc) << p.insns[0].text; }
            if (jcc) {
              auto epilogue = (*b)->elf().read(a, 48);
              ASSERT_TRUE(epilogue);
              EXPECT_NE(std::find(epilogue->begin(), epilogue->end(), 0xc3), epilogue->end()) << "no RET near " << a;
            }
          } else if (p.at == ProbeAt::kFieldLoad) {
            EXPECT_NE(p.insns[0].text.find("dword ptr [" + std::string(1, std::tolower(p.base_register[0]))), std::string::npos)
                << p.insns[0].text;
          } else if (p.at == ProbeAt::kAfterCall) {
            EXPECT_GT(a, p.function.entry);  // the instruction after a call, never the entry
          } else if (p.at == ProbeAt::kBeforeCall) {
            // The instruction right before a call of the callee, which leaves RAX alone.
            const Instruction& in = p.insns[std::find(p.addresses.begin(), p.addresses.end(), a) - p.addresses.begin()];
            auto next = (*b)->elf().read(a + in.length, 1);
            ASSERT_TRUE(next);
            EXPECT_EQ((*next)[0], 0xe8) << p.function.name << " " << in.text;  // call rel32
            EXPECT_EQ(in.text.find("ax"), std::string::npos) << in.text;
          } else if (p.past_stack_check) {
            // The jump of the stack-bound check, within the function's first instructions.
            EXPECT_EQ(p.insns[0].text.rfind("jbe ", 0), 0u) << p.function.name;
            EXPECT_LE(a - p.function.entry, 16u) << p.function.name;
          } else if (a != p.function.entry) {
            // A nosplit function: past its `push rbp`, on `mov rbp, rsp`.
            EXPECT_EQ(a, p.function.entry + 1) << p.function.name;
            EXPECT_EQ(p.insns[0].text, "mov rbp, rsp") << p.function.name;
          }
        }
      }
    }
  }
}

// Stripped and unstripped builds of one program give the same `gorepro info`, apart from where
// the layout came from and the things stripping changes by definition.
TEST(GoBinary, InfoOfStrippedEqualsUnstrippedApartFromSource) {
  for (const std::string& v : built_go_versions()) {
    SCOPED_TRACE(v);
    auto plain = testing::run({testing::gorepro_binary(), "info", "--format", "json", go_program(kProgram, v, false)});
    auto stripped = testing::run({testing::gorepro_binary(), "info", "--format", "json", go_program(kProgram, v, true)});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    ASSERT_EQ(stripped.exit_code, 0) << stripped.err;
    auto a = nlohmann::json::parse(plain.out);
    auto b = nlohmann::json::parse(stripped.out);
    EXPECT_EQ(a["layout_source"], "dwarf");
    EXPECT_EQ(b["layout_source"], "table");
    for (const char* k : {"binary", "build_id", "dwarf", "symtab", "layout_source", "layout_table_generated_from"}) {
      a.erase(k);
      b.erase(k);
    }
    // The pprof-label and sync.Cond offsets: this program links no runtime/pprof and uses no Cond,
    // so its DWARF lacks those types, which the table has (held per version by
    // LabelLayoutFromDwarfEqualsTheTableAndHasOneForm and CondLayoutFromDwarfEqualsTheTable).
    for (auto* j : {&a, &b}) {
      auto& offsets = (*j)["layout"]["offsets"];
      for (auto it = offsets.begin(); it != offsets.end();) {
        const bool optional =
            it.key().starts_with("labels.") || it.key().starts_with("Cond.") || it.key().starts_with("notifyList.");
        it = optional ? offsets.erase(it) : std::next(it);
      }
    }
    EXPECT_EQ(a, b);
  }
}

// The heap scan (src/verdict) needs runtime.mheap_ and runtime.semtable, and runtime.allm and
// runtime.allp (the Ms and Ps it reads through their pointer words; its timer reading); stripped,
// GoBinary finds them in the runtime's code (mallocinit's call of (*mheap).init, the lea both
// semacquire1 and semrelease1 make, preemptall's range over allp, mcommoninit's push on allm). Held to the linker's own .symtab in the plain binaries (the data addresses
// of a stripped build differ, so there only that they are found, in .bss; the stripped verdict
// tests in RecordExample show they are the right ones).
TEST(GoBinary, FindsHeapAndSemaphoreTablesFromCodeAsTheSymbolTableSays) {
  for (const std::string& v : built_go_versions()) {
    for (const std::string& ex : testing::example_names()) {
      SCOPED_TRACE(v + " " + ex);
      auto plain = GoBinary::open(go_program(ex, v, false));
      ASSERT_TRUE(plain) << plain.error().message();
      const ElfSymbol* mheap = (*plain)->elf().symbol("runtime.mheap_");
      const ElfSymbol* semtable = (*plain)->elf().symbol("runtime.semtable");
      const ElfSymbol* allp = (*plain)->elf().symbol("runtime.allp");
      const ElfSymbol* allm = (*plain)->elf().symbol("runtime.allm");
      ASSERT_TRUE(mheap && semtable && allp && allm);
      EXPECT_EQ((*plain)->allm_address(false), allm->value);
      EXPECT_EQ((*plain)->mheap_address(false), mheap->value);
      EXPECT_EQ((*plain)->semtable_address(false), semtable->value);
      EXPECT_EQ((*plain)->allp_address(false), allp->value);
      auto stripped = GoBinary::open(go_program(ex, v, true));
      ASSERT_TRUE(stripped) << stripped.error().message();
      ASSERT_FALSE((*stripped)->has_symtab());
      for (auto a : {(*stripped)->mheap_address(), (*stripped)->semtable_address(), (*stripped)->allp_address(),
                     (*stripped)->allm_address()}) {
        ASSERT_TRUE(a.has_value());
        bool in_bss = false;
        for (const ElfSection& sec : (*stripped)->elf().sections()) {
          if (sec.name == ".bss" && *a >= sec.addr && *a < sec.addr + sec.size) in_bss = true;
        }
        EXPECT_TRUE(in_bss) << std::hex << *a;
      }
    }
  }
}

class BadInput : public ::testing::Test {
 protected:
  std::string tmp(const std::string& name) { return testing::scratch_file("test", name); }
  // gorepro info must fail with exit 1 and exactly one line naming the problem.
  std::string info_error(const std::string& path) {
    auto r = testing::run({testing::gorepro_binary(), "info", path});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_TRUE(r.out.empty());
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("gorepro: ", 0), 0u) << r.err;
    return r.err;
  }
};

TEST_F(BadInput, NonGoElfIsNotAGoBinary) {
  EXPECT_NE(info_error("/bin/ls").find("not a Go binary"), std::string::npos);
}

TEST_F(BadInput, TextFileIsNotElf) {
  std::string p = tmp("notes.txt");
  std::ofstream(p) << "hello, this is text and long enough to be more than an ELF header in size........\n";
  EXPECT_NE(info_error(p).find("not an ELF file"), std::string::npos);
}

TEST_F(BadInput, MissingFileAndDirectory) {
  EXPECT_NE(info_error("/nonexistent/gorepro").find("cannot open"), std::string::npos);
  EXPECT_NE(info_error("/tmp").find("not a regular file"), std::string::npos);
}

TEST_F(BadInput, TruncatedGoBinaryAtManyLengthsNeverCrashes) {
  std::string full = read_file(go_program(kProgram, built_go_versions().back(), false));
  std::string p = tmp("truncated");
  for (size_t len : {size_t{0}, size_t{10}, size_t{64}, size_t{4096}, full.size() / 3, full.size() / 2,
                     full.size() - 4096, full.size() - 1}) {
    SCOPED_TRACE(len);
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(full.data(), static_cast<std::streamsize>(len));
    info_error(p);
  }
}

const char kSupported[] = "go1.19, go1.21, go1.22, go1.23, go1.26, go1.27";

TEST_F(BadInput, UnsupportedGoVersionNamesSupportedOnes) {
  std::string v = built_go_versions().back();
  std::string p = with_version(go_program(kProgram, v, false), "go" + v, "go1.17", tmp("old"));
  std::string err = info_error(p);
  EXPECT_NE(err.find("go1.17"), std::string::npos) << err;
  EXPECT_NE(err.find(kSupported), std::string::npos) << err;
}

// A version without a table (1.20, 1.24, 1.25, a future 1.28), stripped: one line that names it,
// the versions with tables, and what to do.
TEST_F(BadInput, StrippedBinaryOfVersionWithoutTableNamesTableVersions) {
  for (const std::string& v : built_go_versions()) {
    for (const char* other : {"go1.20", "go1.25", "go1.28"}) {
      SCOPED_TRACE(v + " as " + other);
      if (minor_of(v) < 20 && std::string(other) != "go1.20") continue;  // "go1.19" is as long as go1.20 only
      std::string p = with_version(go_program(kProgram, v, true), "go" + v, other, tmp(std::string("as-") + other));
      std::string err = info_error(p);
      EXPECT_NE(err.find(std::string("was built with ") + other), std::string::npos) << err;
      EXPECT_NE(err.find(std::string("no built-in runtime layout for ") + other), std::string::npos) << err;
      EXPECT_NE(err.find(kSupported), std::string::npos) << err;
      EXPECT_NE(err.find("rebuild the program without -ldflags='-s -w'"), std::string::npos) << err;
    }
  }
}

// The same with DWARF works: one warning line naming the version as untested, then the info.
TEST(UntestedVersion, WithDwarfWorksWithOneWarningLine) {
  for (const std::string& v : built_go_versions()) {
    const std::string other = minor_of(v) < 20 ? "go1.20" : "go1.28";
    SCOPED_TRACE(v + " as " + other);
    std::string p = with_version(go_program(kProgram, v, false), "go" + v, other,
                                 testing::scratch_file("untested", "as-" + other + "-" + v));
    auto r = testing::run({testing::gorepro_binary(), "info", p});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("gorepro: warning: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(other + "."), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not been tested"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("layout from: DWARF"), std::string::npos) << r.out;
  }
}

// Never a wrong offset: a stripped binary that claims a version with a table whose layout is not
// its own (here: the blob says another supported version) is refused, not traced with guesses.
TEST_F(BadInput, StrippedBinaryWhoseTableDoesNotFitIsRefused) {
  const std::vector<std::string> all = testing::found_go_versions();
  for (const std::string& v : built_go_versions()) {
    for (const std::string& w : all) {
      if (w == v || w.size() != v.size()) continue;
      SCOPED_TRACE(v + " claiming " + w);
      auto real = RuntimeLayout::from_table("go" + v), claimed = RuntimeLayout::from_table("go" + w);
      ASSERT_TRUE(real && claimed);
      if (real->wait_reasons == claimed->wait_reasons) continue;  // nothing tells them apart there
      std::string p = with_version(go_program(kProgram, v, true), "go" + v, "go" + w, tmp("claims-" + w + "-" + v));
      std::string err = info_error(p);
      EXPECT_NE(err.find("does not fit this binary"), std::string::npos) << err;
    }
  }
}

}  // namespace
}  // namespace gorepro
