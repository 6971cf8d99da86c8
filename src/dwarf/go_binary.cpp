#include "dwarf/go_binary.h"

#include <algorithm>
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
      {"syscall_exit0", "runtime.exitsyscall0", ProbeAt::kEntry,
       "a goroutine back from a system call without a P is made runnable here"},
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

}  // namespace

GoBinary::~GoBinary() = default;

Result<std::unique_ptr<GoBinary>> GoBinary::open(const std::string& path) {
  auto elf = ElfFile::open(path);
  if (!elf) return elf.error();
  std::unique_ptr<GoBinary> b(new GoBinary());
  b->elf_ = std::move(*elf);
  auto info = BuildInfo::read(*b->elf_);
  if (!info) return info.error();
  b->build_info_ = std::move(*info);
  auto version = GoVersion::parse(b->build_info_.go_version);
  std::string supported;
  for (const std::string& v : supported_go_minors()) supported += (supported.empty() ? "" : ", ") + v;
  if (!version) {
    return make_error(fmt::format("{} was built by an unrecognised Go toolchain ({})", path, b->build_info_.go_version),
                      fmt::format("gorepro supports {}", supported));
  }
  b->version_ = *version;
  // DWARF lets us read any version close to the supported ones; the table covers only those.
  bool near_supported = version->major == 1 && version->minor >= 19 && version->minor <= 23;
  if (!near_supported) {
    return make_error(fmt::format("{} was built with {}, which gorepro does not support", path, b->build_info_.go_version),
                      fmt::format("rebuild it with one of: {}", supported));
  }
  b->build_id_ = b->elf_->build_id();
  b->has_dwarf_ = b->elf_->section(".debug_info") != nullptr;

  const std::string minor = version->minor_name();
  if (b->has_dwarf_) {
    auto layout = RuntimeLayout::from_dwarf(*b->elf_, minor);
    if (!layout) return layout.error();
    b->layout_ = std::move(*layout);
  } else {
    auto layout = RuntimeLayout::from_table(minor);
    if (!layout) return make_error(fmt::format("{} has no DWARF and {}", path, layout.error().what), layout.error().hint);
    b->layout_ = std::move(*layout);
  }

  auto gofunc = Pclntab::find_gofunc(*b->elf_, b->layout_.offset("moduledata.gofunc"));
  auto pcln = Pclntab::load(*b->elf_, gofunc.value_or(0));
  if (!pcln) return pcln.error();
  b->pclntab_ = std::move(*pcln);

  for (const ProbeSpec& spec : probe_specs()) {
    auto fn = b->function(spec.function);
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
      for (const Instruction& in : *insns) {
        if (in.is_ret) {
          p.addresses.push_back(in.address);
          p.insns.push_back(in);
        }
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

std::optional<uint64_t> GoBinary::allgs_address() const {
  if (auto sym = global("runtime.allgs")) return sym;
  auto fn = function("runtime.allgadd");
  if (!fn) return std::nullopt;
  auto code = elf_->read(fn->entry, fn->end - fn->entry);
  if (!code) return std::nullopt;
  auto targets = Disassembler::rip_relative_targets(*code, fn->entry);
  if (!targets) return std::nullopt;
  std::set<uint64_t> t(targets->begin(), targets->end());
  for (uint64_t a : t) {
    const ElfSection* s = elf_->section_at(a);
    bool data = s ? (s->name == ".data" || s->name == ".noptrdata")
                  : false;
    for (const ElfSection& sec : elf_->sections()) {  // .bss/.noptrbss are NOBITS
      if ((sec.name == ".bss" || sec.name == ".noptrbss") && a >= sec.addr && a < sec.addr + sec.size) data = true;
    }
    if (data && t.count(a + 8) && t.count(a + 16)) return a;
  }
  return std::nullopt;
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
