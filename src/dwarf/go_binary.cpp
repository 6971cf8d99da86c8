#include "dwarf/go_binary.h"

#include <algorithm>
#include <cstring>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "dwarf/dwarf_symbolizer.h"
#include "dwarf/pclntab.h"

namespace gorepro {

const char* to_string(ProbeAt at) {
  switch (at) {
    case ProbeAt::kEntry: return "entry";
    case ProbeAt::kReturn: return "return";
    case ProbeAt::kAfterCall: return "after call";
    case ProbeAt::kBeforeCall: return "before call";
    case ProbeAt::kFieldLoad: return "field load";
  }
  return "?";
}

const std::vector<ProbeSpec>& probe_specs() {
  static const std::vector<ProbeSpec> specs = {
      {"create", "runtime.newproc1", ProbeAt::kReturn,
       "the new g (and its goid) exists only when newproc1 returns it in the result register"},
      {"park", "runtime.gopark", ProbeAt::kEntry,
       "every blocking operation parks through gopark; R14 is the parking g, reason is an argument"},
      {"ready", "runtime.ready", ProbeAt::kEntry,
       "goready is inlined from Go 1.21 on; ready is where every goready ends up"},
      {"inject", "runtime.injectglist", ProbeAt::kEntry,
       "the netpoller and timers make lists of goroutines runnable without goready"},
      {"netpoll", "runtime.netpoll", ProbeAt::kReturn,
       "findRunnable runs the first goroutine netpoll returns without injectglist"},
      {"execute", "runtime.execute", ProbeAt::kEntry,
       "every goroutine that starts running passes here; catches wake paths with no other probe"},
      {"exit", "runtime.goexit1", ProbeAt::kEntry, "every goroutine ends in goexit1; R14 is the exiting g"},
      {"gcworker", "runtime.gcBgMarkWorker", ProbeAt::kAfterCall,
       "GC mark workers are made runnable by the scheduler directly (no ready): see them resume from gopark",
       "runtime.gopark"},
      {"coroswitch", "runtime.coroswitch_m", ProbeAt::kEntry,
       "Go 1.23 coroutines (iter.Pull) hand the CPU from one goroutine to another directly: the "
       "current one waits (or, ending, is freed without goexit1) and the coro's goroutine runs, "
       "with no gopark, ready or goexit1; linked only into programs that use coroutines",
       nullptr, nullptr, true},
      {"unpark", "runtime.park_m", ProbeAt::kBeforeCall,
       "a park whose commit fails (netpollblockcommit: the fd became ready meanwhile; gcParkAssist) "
       "is not a park: park_m makes the goroutine runnable and runs it at once, without ready",
       "runtime.execute"},
      // The state probes (record --probe-states, implied by --schedtrace): with execute, every
      // change between running, runnable and system call.
      {"preempt", "runtime.goschedImpl", ProbeAt::kEntry,
       "a running goroutine preempted (gopreempt_m) or yielding (Gosched) becomes runnable here"},
      {"yield", "runtime.goyield_m", ProbeAt::kEntry, "runtime-internal yields become runnable here"},
      {"syscall", "runtime.reentersyscall", ProbeAt::kEntry, "every system call of a goroutine enters here"},
      {"syscall_block", "runtime.entersyscallblock", ProbeAt::kEntry, "... or here, for calls known to block"},
      {"syscall_exit", "runtime.exitsyscall", ProbeAt::kEntry,
       "a goroutine back from a system call runs on (or goes through exitsyscall0 and execute)"},
      {"syscall_exit0", "runtime.exitsyscall0|runtime.exitsyscallNoP", ProbeAt::kEntry,
       "a goroutine back from a system call without a P is made runnable here (exitsyscallNoP from Go 1.26)"},
      {"sched_begin", "runtime.schedtrace", ProbeAt::kEntry,
       "with GODEBUG=schedtrace: where the runtime starts a dump, in the tracer's order of events"},
      {"sched_end", "runtime.schedtrace", ProbeAt::kReturn, "... and where it has printed the whole dump"},
      {"sched_g", "runtime.schedtrace.func1", ProbeAt::kFieldLoad,
       "with scheddetail: the load of g.atomicstatus for a G line — emulated, so the tracer performs the "
       "runtime's read itself, at a known point among the events",
       nullptr, "g.atomicstatus"},
  };
  return specs;
}

namespace {

// The conditional jump of a Go function's stack-bound check when its code starts with one:
// `cmp rsp, qword ptr [r14 + 0x10]` (R14 is g, +0x10 g.stackguard0) — or, in functions with big
// frames, `lea r12, [rsp - N]` then `cmp r12, qword ptr [r14 + 0x10]` — followed by `jbe`.
const Instruction* stack_check_branch(const std::vector<Instruction>& insns) {
  for (size_t i = 0; i + 1 < insns.size() && i < 2; i++) {
    const std::string& t = insns[i].text;
    if (t.rfind("cmp ", 0) == 0 && t.find(", qword ptr [r14 + 0x10]") != std::string::npos) {
      return insns[i + 1].text.rfind("jbe ", 0) == 0 ? &insns[i + 1] : nullptr;
    }
    if (t.rfind("lea ", 0) != 0) return nullptr;
  }
  return nullptr;
}

// A Go string header {ptr, len} at addr in the file, when it points at len bytes in the file.
std::optional<std::string> read_go_string(const ElfFile& elf, uint64_t addr, uint64_t max_len) {
  auto hdr = elf.read(addr, 16);
  if (!hdr) return std::nullopt;
  uint64_t ptr, len;
  std::memcpy(&ptr, hdr->data(), 8);
  std::memcpy(&len, hdr->data() + 8, 8);
  if (len == 0 || len > max_len) return std::nullopt;
  auto bytes = elf.read(ptr, len);
  if (!bytes) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(bytes->data()), len);
}

// runtime.buildVersion, the toolchain version the runtime itself reports (runtime.Version): the
// .symtab symbol, or — stripped — the global that runtime.schedinit touches, whose string is a Go
// version. (schedinit sets buildVersion to "unknown" when it is empty: the linker keeps the
// variable for debuggers through exactly that reference.)
std::optional<std::string> runtime_build_version(const GoBinary& b) {
  const ElfFile& elf = b.elf();
  auto is_version = [](const std::optional<std::string>& s) { return s && GoVersion::parse(*s).has_value(); };
  constexpr uint64_t kMaxVersionLen = 128;  // "go1.27.3 X:nocoverageredesign,…" stays well below
  if (auto sym = b.global("runtime.buildVersion")) {
    if (auto s = read_go_string(elf, *sym, kMaxVersionLen); is_version(s)) return s;
  }
  auto fn = b.function("runtime.schedinit");
  if (!fn) return std::nullopt;
  auto code = elf.read(fn->entry, fn->end - fn->entry);
  if (!code) return std::nullopt;
  auto targets = Disassembler::rip_relative_targets(*code, fn->entry);
  if (!targets) return std::nullopt;
  std::set<std::string> found;
  for (uint64_t t : *targets) {
    // The code compares the length word (+8) and stores the pointer word (+0).
    for (uint64_t a : {t, t - 8}) {
      if (auto s = read_go_string(elf, a, kMaxVersionLen); is_version(s)) found.insert(*s);
    }
  }
  if (found.size() != 1) return std::nullopt;
  return *found.begin();
}

// Whether the binary holds runtime.waitReasonStrings with exactly these strings: an array of Go
// string headers in a data section whose entry i is reasons[i] ("" entries have length 0), and
// which ends there.
bool has_wait_reason_table(const ElfFile& elf, const std::vector<std::string>& reasons) {
  size_t probe = 0;  // the first non-empty entry anchors the search
  while (probe < reasons.size() && reasons[probe].empty()) probe++;
  if (probe == reasons.size()) return false;
  const std::string& anchor = reasons[probe];
  auto entry_is = [&](uint64_t addr, const std::string& want) {
    auto hdr = elf.read(addr, 16);
    if (!hdr) return false;
    uint64_t ptr, len;
    std::memcpy(&ptr, hdr->data(), 8);
    std::memcpy(&len, hdr->data() + 8, 8);
    if (len != want.size()) return false;
    if (len == 0) return true;
    auto bytes = elf.read(ptr, len);
    return bytes && std::memcmp(bytes->data(), want.data(), len) == 0;
  };
  for (const ElfSection& sec : elf.sections()) {
    if (!sec.in_file() || sec.addr == 0 || sec.name.find("data") == std::string::npos) continue;
    auto bytes = elf.section_bytes(sec);
    for (size_t off = 8; off + 8 <= bytes.size(); off += 8) {
      uint64_t len;
      std::memcpy(&len, bytes.data() + off, 8);
      if (len != anchor.size()) continue;
      uint64_t entry = sec.addr + off - 8;
      if (entry < sec.addr + 16 * probe || !entry_is(entry, anchor)) continue;
      uint64_t base = entry - 16 * probe;
      bool all = true;
      for (size_t i = 0; i < reasons.size() && all; i++) all = entry_is(base + 16 * i, reasons[i]);
      // ... and no more: a later version appends its new reasons, so a longer array whose first
      // entries are the table's is another version's (the word after the array is other data).
      auto next = read_go_string(elf, base + 16 * reasons.size(), 64);
      bool longer = next && std::all_of(next->begin(), next->end(), [](char c) { return c >= ' ' && c <= '~'; });
      if (all) return !longer;
    }
  }
  return false;
}

}  // namespace

GoBinary::~GoBinary() = default;

Status GoBinary::check_layout() {
  const ElfFile& e = *elf_;
  const std::string rebuild = "rebuild the program without -ldflags='-s -w' so gorepro can read its DWARF";
  uint64_t text = pclntab_->text_start();
  if (auto md = Pclntab::find_moduledata(e); md && layout_.offset("moduledata.text")) {
    auto word = e.read(*md + static_cast<uint64_t>(*layout_.offset("moduledata.text")), 8);
    uint64_t md_text = 0;
    if (word) std::memcpy(&md_text, word->data(), 8);
    // 0 in the file: a PIE's moduledata is filled in by relocations at load.
    if (md_text != 0 && md_text != text) {
      if (layout_.source == LayoutSource::kTable) {
        return make_error(fmt::format("{}: the built-in {} layout does not fit this binary (moduledata.text {:#x}, "
                                      "text start {:#x})", path(), layout_.go_minor, md_text, text), rebuild);
      }
      text = md_text;
    }
  }
  auto gofunc = Pclntab::find_gofunc(e, layout_.offset("moduledata.gofunc"));
  if (gofunc || text != pclntab_->text_start()) {
    auto pcln = Pclntab::load(e, gofunc.value_or(0), text);
    if (!pcln) return pcln.error();
    pclntab_ = std::move(*pcln);
  }
  if (layout_.source == LayoutSource::kTable && !has_wait_reason_table(e, layout_.wait_reasons)) {
    return make_error(fmt::format("{}: the built-in {} layout does not fit this binary (its wait-reason strings "
                                  "differ from {}'s)", path(), layout_.go_minor, layout_.table_generated_from),
                      rebuild);
  }
  return Ok{};
}

Result<std::unique_ptr<GoBinary>> GoBinary::open(const std::string& path) {
  auto elf = ElfFile::open(path);
  if (!elf) return elf.error();
  std::unique_ptr<GoBinary> b(new GoBinary());
  b->elf_ = std::move(*elf);
  const ElfFile& e = *b->elf_;
  // A Go binary carries at least one of the build-info blob, the runtime's pclntab and the Go
  // build id note; release builds often lose the blob (and the symbols), never the other two.
  const bool blob = BuildInfo::present(e);
  if (!blob && !Pclntab::section(e) && !e.section(".note.go.buildid")) {
    return make_error(fmt::format("{} is not a Go binary (no Go build information, .gopclntab or Go build id)", path),
                      "gorepro traces programs built by the Go toolchain (go build)");
  }
  if (blob) {
    auto info = BuildInfo::read(e);
    if (!info) return info.error();
    b->build_info_ = std::move(*info);
  }
  // Functions first (the version may have to be read from runtime code); the text start and
  // go:func.* are checked against moduledata below, once the layout is known.
  auto pcln = Pclntab::load(e, 0);
  if (!pcln) return pcln.error();
  b->pclntab_ = std::move(*pcln);
  if (!blob) {
    auto v = runtime_build_version(*b);
    if (!v) {
      return make_error(fmt::format("{} is a Go binary without build information, and its runtime.buildVersion "
                                    "was not found", path),
                        "rebuild it with go build (without removing .go.buildinfo)");
    }
    b->build_info_.go_version = *v;
    b->build_info_.version_source = "runtime.buildVersion";
  }
  auto version = GoVersion::parse(b->build_info_.go_version);
  const std::string tested = join(supported_go_minors());
  if (!version) {
    return make_error(fmt::format("{} was built by an unrecognised Go toolchain ({})", path, b->build_info_.go_version),
                      fmt::format("gorepro supports {}", tested));
  }
  b->version_ = *version;
  if (!is_readable(*version)) {
    return make_error(fmt::format("{} was built with {}, older than any Go gorepro can read", path,
                                  b->build_info_.go_version),
                      fmt::format("rebuild it with one of: {}", tested));
  }
  b->build_id_ = e.build_id();
  b->has_dwarf_ = e.section(".debug_info") != nullptr;

  const std::string minor = version->minor_name();
  if (b->has_dwarf_) {
    auto layout = RuntimeLayout::from_dwarf(e, minor);
    if (!layout) return layout.error();
    b->layout_ = std::move(*layout);
    if (!is_supported(*version)) {
      b->warning_ = fmt::format("{} was built with {}, which gorepro has not been tested with (tested: {}); "
                                "its layout comes from its DWARF", path, b->build_info_.go_version, tested);
    }
  } else {
    auto layout = RuntimeLayout::from_table(minor);
    if (!layout) {
      return make_error(fmt::format("{} was built with {} and has no DWARF, and {}", path, b->build_info_.go_version,
                                    layout.error().what), layout.error().hint);
    }
    b->layout_ = std::move(*layout);
  }
  if (auto st = b->check_layout(); !st) return st.error();

  for (const ProbeSpec& spec : probe_specs()) {
    std::optional<FunctionRange> fn;
    for (std::string_view name : alternatives(spec.function)) {
      if (!fn) fn = b->function(name);
    }
    if (!fn && spec.optional) continue;
    if (!fn) {
      return make_error(fmt::format("{}: runtime function {} not found", path, spec.function),
                        "the binary's runtime is not one gorepro knows; is it a Go program built for linux/amd64?");
    }
    auto code = b->elf_->read(fn->entry, fn->end - fn->entry);
    if (!code) return make_error(fmt::format("{}: the code of {} is not in the file", path, spec.function), "");
    Probe p;
    p.role = spec.role;
    p.function = *fn;
    p.at = spec.at;
    auto insns = Disassembler::decode(*code, fn->entry);
    if (!insns) return make_error(fmt::format("{}: {}: {}", path, spec.function, insns.error().what), insns.error().hint);
    if (spec.at == ProbeAt::kEntry) {
      const Instruction* guard = stack_check_branch(*insns);
      p.past_stack_check = guard != nullptr;
      // Without a stack check (nosplit functions) the entry is `push rbp`, which stores to the
      // stack; the next instruction, `mov rbp, rsp`, sees the same arguments and is a register move.
      size_t first = 0;
      if (!guard && insns->size() > 1 && insns->front().text == "push rbp" && (*insns)[1].text == "mov rbp, rsp") first = 1;
      const Instruction& at = guard ? *guard : (*insns)[first];
      p.addresses.push_back(at.address);
      p.insns.push_back(at);
    } else if (spec.at == ProbeAt::kReturn) {
      // Each RET, or the branch before it from which every path returns the same results.
      auto exits = Disassembler::exit_sites(*code, fn->entry);
      if (!exits) return make_error(fmt::format("{}: {}: {}", path, spec.function, exits.error().what), exits.error().hint);
      for (uint64_t addr : *exits) {
        auto in = std::find_if(insns->begin(), insns->end(), [&](const Instruction& i) { return i.address == addr; });
        p.addresses.push_back(addr);
        p.insns.push_back(*in);
      }
    } else if (spec.at == ProbeAt::kFieldLoad) {
      auto off = b->layout_.offset(spec.field);
      static const std::regex load(R"(mov e[a-z0-9]+, dword ptr \[(r[a-z0-9]+) \+ (0x[0-9a-f]+)\])");
      for (const Instruction& in : *insns) {
        std::smatch m;
        if (off && std::regex_match(in.text, m, load) && std::stoll(m[2].str(), nullptr, 16) == *off) {
          p.addresses.push_back(in.address);
          p.insns.push_back(in);
          p.base_register = m[1].str();
          std::transform(p.base_register.begin(), p.base_register.end(), p.base_register.begin(), ::toupper);
          break;
        }
      }
    } else {
      auto callee = b->function(spec.callee);
      const std::string call = callee ? fmt::format("call {:#x}", callee->entry) : "";
      // kBeforeCall: the previous instruction, unless it sets the first argument (RAX) itself.
      static const std::regex sets_rax(R"((mov|lea|xor|movzx|movsx|movsxd|add|sub|and|or) (rax|eax|ax|al),.*)");
      for (size_t i = 0; callee && i + 1 < insns->size(); i++) {
        if ((*insns)[i].text != call || (spec.at == ProbeAt::kBeforeCall && i == 0)) continue;
        const Instruction& at = spec.at == ProbeAt::kAfterCall ? (*insns)[i + 1] : (*insns)[i - 1];
        if (spec.at == ProbeAt::kBeforeCall && std::regex_match(at.text, sets_rax)) continue;
        p.addresses.push_back(at.address);
        p.insns.push_back(at);
      }
    }
    // A field load is a refinement (exact G-line reads for correlate): without it, go on.
    if (p.addresses.empty() && spec.at == ProbeAt::kFieldLoad) continue;
    if (p.addresses.empty()) {
      return make_error(fmt::format("{}: no {} site found in {}", path, to_string(spec.at), spec.function),
                        "the binary's runtime is not one gorepro knows");
    }
    b->probes_.push_back(std::move(p));
  }
  return b;
}

const Probe* GoBinary::probe(std::string_view role) const {
  for (const Probe& p : probes_) {
    if (p.role == role) return &p;
  }
  return nullptr;
}

std::optional<FunctionRange> GoBinary::function(std::string_view name) const {
  if (const ElfSymbol* s = elf_->symbol(name); s && s->size > 0) {
    return FunctionRange{std::string(name), s->value, s->value + s->size};
  }
  if (!pclntab_) return std::nullopt;
  const auto* f = pclntab_->find(name);
  if (!f) return std::nullopt;
  // Stripped binaries name an ABI wrapper like the function it wraps (runtime.goexit1.abi0 is
  // "runtime.goexit1" in .gopclntab). A wrapper ends in a jump to the wrapped function's entry:
  // follow it, so probes land in the function itself.
  if (auto code = elf_->read(f->entry, f->end - f->entry)) {
    if (auto insns = Disassembler::decode(*code, f->entry); insns && !insns->empty()) {
      const Instruction& last = insns->back();
      if (last.text.rfind("jmp 0x", 0) == 0) {
        uint64_t target = std::stoull(last.text.substr(4), nullptr, 16);
        const auto* g = pclntab_->function_at(target);
        if (g && g != f && g->entry == target && g->name == f->name) f = g;
      }
    }
  }
  return FunctionRange{f->name, f->entry, f->end};
}

std::optional<uint64_t> GoBinary::global(std::string_view name) const {
  if (const ElfSymbol* s = elf_->symbol(name)) return s->value;
  return std::nullopt;
}

std::optional<uint64_t> GoBinary::godebug_setting(std::string_view name) const {
  // The entry's name is a Go string header (data pointer, length) whose data lies in .rodata;
  // the pointer right after it is the setting's address, which must lie in writable data.
  auto in = [&](uint64_t a, std::initializer_list<const char*> names) {
    for (const ElfSection& sec : elf_->sections()) {
      for (const char* n : names) {
        if (sec.name == n && a >= sec.addr && a + 4 <= sec.addr + sec.size) return true;
      }
    }
    return false;
  };
  const ElfSection* ro = elf_->section(".rodata");
  if (!ro || name.empty()) return std::nullopt;
  std::span<const uint8_t> rodata = elf_->section_bytes(*ro);
  std::set<uint64_t> texts;  // every place the name's bytes occur
  for (auto it = rodata.begin();
       (it = std::search(it, rodata.end(), name.begin(), name.end())) != rodata.end(); ++it) {
    texts.insert(ro->addr + static_cast<uint64_t>(it - rodata.begin()));
  }
  std::optional<uint64_t> found;
  for (const char* data_name : {".data", ".noptrdata"}) {
    const ElfSection* sec = elf_->section(data_name);
    if (!sec) continue;
    std::span<const uint8_t> d = elf_->section_bytes(*sec);
    for (size_t at = 0; at + 24 <= d.size(); at += 8) {
      uint64_t ptr, len, value;
      std::memcpy(&ptr, d.data() + at, 8);
      if (!texts.count(ptr)) continue;
      std::memcpy(&len, d.data() + at + 8, 8);
      std::memcpy(&value, d.data() + at + 16, 8);
      if (len != name.size() || !in(value, {".noptrbss", ".bss", ".noptrdata", ".data"})) continue;
      if (found && *found != value) return std::nullopt;  // two different answers: believe neither
      found = value;
    }
  }
  return found;
}

std::optional<uint64_t> GoBinary::runtime_output_fd_immediate() const {
  auto write = function("runtime.write");
  if (!write) return std::nullopt;
  const std::string call = fmt::format("call {:#x}", write->entry);
  for (const char* name : {"runtime.writeErrData", "runtime.writeErr", "runtime.gwrite"}) {
    auto fn = function(name);
    if (!fn) continue;
    auto code = elf_->read(fn->entry, fn->end - fn->entry);
    if (!code) continue;
    auto insns = Disassembler::decode(*code, fn->entry);
    if (!insns) continue;
    std::vector<uint64_t> found;
    for (size_t i = 0; i < insns->size(); i++) {
      if ((*insns)[i].text != call) continue;
      // The fd is the first argument (RAX); the other two are set between it and the call.
      for (size_t back = 1; back <= 4 && back <= i; back++) {
        const Instruction& in = (*insns)[i - back];
        if (in.text == "mov eax, 2" && in.length == 5) {
          found.push_back(in.address + 1);
          break;
        }
        if (in.text.rfind("nop", 0) == 0) continue;  // alignment padding mentions rax but does nothing
        if (in.text.find("eax") != std::string::npos || in.text.find("rax") != std::string::npos) break;
      }
    }
    if (found.size() != 1) continue;
    const uint8_t two[4] = {2, 0, 0, 0};
    auto imm = elf_->read(found[0], 4);
    if (imm && std::equal(imm->begin(), imm->end(), two)) return found[0];
  }
  return std::nullopt;
}

std::set<uint64_t> GoBinary::rip_targets(std::string_view function_name) const {
  auto fn = function(function_name);
  if (!fn) return {};
  auto code = elf_->read(fn->entry, fn->end - fn->entry);
  if (!code) return {};
  auto targets = Disassembler::rip_relative_targets(*code, fn->entry);
  if (!targets) return {};
  return std::set<uint64_t>(targets->begin(), targets->end());
}

std::optional<uint64_t> GoBinary::allgs_address() const {
  if (auto sym = global("runtime.allgs")) return sym;
  const std::set<uint64_t> t = rip_targets("runtime.allgadd");
  for (uint64_t a : t) {
    if (in_data_section(a) && t.count(a + 8) && t.count(a + 16)) return a;
  }
  return std::nullopt;
}

bool GoBinary::in_data_section(uint64_t a) const {
  for (const ElfSection& sec : elf_->sections()) {  // .bss/.noptrbss are NOBITS: not section_at's
    if ((sec.name == ".data" || sec.name == ".noptrdata" || sec.name == ".bss" || sec.name == ".noptrbss") &&
        a >= sec.addr && a < sec.addr + sec.size) {
      return true;
    }
  }
  return false;
}

std::vector<std::pair<uint64_t, std::string>> GoBinary::lea_targets(std::string_view function_name) const {
  std::vector<std::pair<uint64_t, std::string>> out;
  auto fn = function(function_name);
  if (!fn) return out;
  auto code = elf_->read(fn->entry, fn->end - fn->entry);
  if (!code) return out;
  auto insns = Disassembler::decode(*code, fn->entry);
  if (!insns) return out;
  static const std::regex lea(R"(lea \w+, \[rip ([+-]) (0x[0-9a-f]+|\d+)\])");
  for (size_t i = 0; i < insns->size(); i++) {
    const Instruction& in = (*insns)[i];
    std::smatch m;
    if (!std::regex_match(in.text, m, lea)) continue;
    const uint64_t d = std::stoull(m[2].str(), nullptr, 0);
    const uint64_t next = in.address + in.length;
    out.emplace_back(m[1] == "+" ? next + d : next - d, i + 1 < insns->size() ? (*insns)[i + 1].text : "");
  }
  return out;
}

std::optional<uint64_t> GoBinary::mheap_address(bool use_symbol) const {
  if (auto sym = global("runtime.mheap_"); sym && use_symbol) return sym;
  // mallocinit: `mheap_.init()` — in every supported version (1.19 to 1.27) the receiver is
  // loaded into RAX by the instruction right before the call.
  auto init = function("runtime.(*mheap).init");
  if (!init) return std::nullopt;
  const std::string call = fmt::format("call {:#x}", init->entry);
  std::set<uint64_t> found;
  for (const auto& [a, next] : lea_targets("runtime.mallocinit")) {
    if (next == call && in_data_section(a)) found.insert(a);
  }
  if (found.size() != 1) return std::nullopt;
  return *found.begin();
}

std::optional<uint64_t> GoBinary::semtable_address(bool use_symbol) const {
  if (auto sym = global("runtime.semtable"); sym && use_symbol) return sym;
  std::set<uint64_t> acquire, both;
  for (const auto& [a, next] : lea_targets("runtime.semacquire1")) {
    if (in_data_section(a)) acquire.insert(a);
  }
  for (const auto& [a, next] : lea_targets("runtime.semrelease1")) {
    if (acquire.count(a)) both.insert(a);
  }
  if (both.size() != 1) return std::nullopt;
  return *both.begin();
}

std::optional<uint64_t> GoBinary::allp_address(bool use_symbol) const {
  if (auto sym = global("runtime.allp"); sym && use_symbol) return sym;
  const std::set<uint64_t> t = rip_targets("runtime.preemptall");
  std::set<uint64_t> found;
  for (uint64_t a : t) {
    if (in_data_section(a) && t.count(a + 8)) found.insert(a);
  }
  if (found.size() != 1) return std::nullopt;
  return *found.begin();
}

std::optional<uint64_t> GoBinary::allm_address(bool use_symbol) const {
  if (auto sym = global("runtime.allm"); sym && use_symbol) return sym;
  const std::set<uint64_t> both = rip_targets("runtime.checkdead");
  const ElfSection* bss = elf_->section(".bss");
  if (!bss) return std::nullopt;
  std::set<uint64_t> found;
  for (uint64_t a : rip_targets("runtime.mcommoninit")) {
    // .bss: a pointer (the flags and seeds mcommoninit also reads live in .noptrbss/.noptrdata).
    if (a >= bss->addr && a < bss->addr + bss->size && !both.count(a)) found.insert(a);
  }
  if (found.size() != 1) return std::nullopt;
  return *found.begin();
}

const Symbolizer& GoBinary::symbolizer() const {
  std::call_once(symbolizer_once_, [this] {
    if (!has_dwarf_) return;
    auto s = DwarfSymbolizer::load(path());
    if (s) dwarf_symbolizer_ = std::move(*s);
  });
  if (dwarf_symbolizer_) return *dwarf_symbolizer_;
  return *pclntab_;
}

}  // namespace gorepro
