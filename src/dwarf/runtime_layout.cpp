#include "dwarf/runtime_layout.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "dwarf/elf_file.h"

namespace gorepro {

// Defined in the generated layout_table_data.cpp: the text of src/dwarf/layout_table.json.
extern const char* const kLayoutTableJson;

const char* to_string(LayoutSource s) { return s == LayoutSource::kDwarf ? "dwarf" : "table"; }

const std::vector<FieldSpec>& field_specs() {
  static const std::vector<FieldSpec> specs = {
      {"g.goid", "runtime.g", "goid", true},
      {"g.gopc", "runtime.g", "gopc", true},
      {"g.startpc", "runtime.g", "startpc", true},
      {"g.atomicstatus", "runtime.g", "atomicstatus", true},
      {"g.waitreason", "runtime.g", "waitreason", true},
      {"g.parentGoid", "runtime.g", "parentGoid", false},  // Go 1.21+
      {"g.sched.sp", "runtime.g", "sched.sp", true},
      {"g.sched.pc", "runtime.g", "sched.pc", true},
      {"g.sched.bp", "runtime.g", "sched.bp", true},
      {"g.labels", "runtime.g", "labels", true},
      {"g.schedlink", "runtime.g", "schedlink", true},
      {"g.m", "runtime.g", "m", true},
      {"g.stack.lo", "runtime.g", "stack.lo", true},
      {"g.stack.hi", "runtime.g", "stack.hi", true},
      {"g.waiting", "runtime.g", "waiting", true},
      // The leak-verdict scan's precise stacks (src/dwarf/stackmap.h): what runtime.scanstack
      // reads of a g besides its frames — the saved closure context, the defer records (whose
      // funcs may be stack-allocated closures), a panic in progress, and a system call's PC/SP.
      {"g.sched.ctxt", "runtime.g", "sched.ctxt", false},
      {"g._defer", "runtime.g", "_defer", false},
      {"g._panic", "runtime.g", "_panic", false},
      {"g.syscallsp", "runtime.g", "syscallsp", false},
      {"g.syscallpc", "runtime.g", "syscallpc", false},
      {"_defer.fn", "runtime._defer", "fn", false},
      {"_defer.link", "runtime._defer", "link", false},
      // Coroutines (Go 1.23+, iter.Pull): the coro a switching goroutine hands over to, whether
      // it is ending, and the goroutine the coro runs next. runtime.coro is in the DWARF only
      // of programs that use coroutines.
      {"g.coroarg", "runtime.g", "coroarg", false},
      {"g.coroexit", "runtime.g", "coroexit", false},
      {"coro.gp", "runtime.coro", "gp", false},
      {"m.g0", "runtime.m", "g0", true},
      {"m.curg", "runtime.m", "curg", true},
      {"m.procid", "runtime.m", "procid", true},
      // Every M (runtime.allm's list) and its signal goroutine: the verdict scan reads them
      // through their pointer words only (src/verdict).
      {"m.alllink", "runtime.m", "alllink", false},
      {"m.gsignal", "runtime.m", "gsignal", false},
      // Go 1.26 made both a maybeTraceablePtr {vp, vu}: vp is nil while the goroutine-leak
      // detector hides the pointer from the GC, vu always holds the address.
      {"sudog.elem", "runtime.sudog", "elem.vu|elem", true},
      {"sudog.c", "runtime.sudog", "c.maybeTraceablePtr.vu|c", true},
      {"gList.head", "runtime.gList", "head", true},
      {"moduledata.gofunc", "runtime.moduledata", "gofunc", true},
      // Where function entries are counted from: pcHeader's textStart is 0 from Go 1.26 on (the
      // linker no longer relocates it), and the runtime reads moduledata.text instead.
      {"moduledata.text", "runtime.moduledata", "text", true},
      // The leak-verdict scan's precise globals: .data and .bss, and the pointer masks of their
      // words the runtime builds at start (markrootBlock scans them by these).
      {"moduledata.data", "runtime.moduledata", "data", false},
      {"moduledata.edata", "runtime.moduledata", "edata", false},
      {"moduledata.bss", "runtime.moduledata", "bss", false},
      {"moduledata.ebss", "runtime.moduledata", "ebss", false},
      {"moduledata.gcdatamask.n", "runtime.moduledata", "gcdatamask.n", false},
      {"moduledata.gcdatamask.bytedata", "runtime.moduledata", "gcdatamask.bytedata", false},
      {"moduledata.gcbssmask.n", "runtime.moduledata", "gcbssmask.n", false},
      {"moduledata.gcbssmask.bytedata", "runtime.moduledata", "gcbssmask.bytedata", false},
      // The leak-verdict heap scan (src/verdict): the heap's span tables, the sudogs a blocked
      // goroutine waits with, and the semaphore table. Not required: a binary whose DWARF lacks
      // one still records; its verdicts say what is missing.
      {"mheap.arenas", "runtime.mheap", "arenas", false},
      // Every arena mapped for the heap: allArenas, renamed heapArenas in Go 1.26.
      {"mheap.allArenas", "runtime.mheap", "allArenas|heapArenas", false},
      {"heapArena.spans", "runtime.heapArena", "spans", false},
      {"mspan.startAddr", "runtime.mspan", "startAddr", false},
      {"mspan.npages", "runtime.mspan", "npages", false},
      {"mspan.nelems", "runtime.mspan", "nelems", false},
      {"mspan.elemsize", "runtime.mspan", "elemsize", false},
      {"mspan.spanclass", "runtime.mspan", "spanclass", false},
      {"mspan.state", "runtime.mspan", "state", false},
      {"sudog.g", "runtime.sudog", "g", false},
      {"sudog.next", "runtime.sudog", "next", false},
      {"sudog.prev", "runtime.sudog", "prev", false},
      {"sudog.waitlink", "runtime.sudog", "waitlink", false},
      {"semaRoot.treap", "runtime.semaRoot", "treap", false},
      // What a goroutine waiting on time or I/O waits for (src/verdict/wait_detail): a sleep's
      // deadline (g.sleepWhen from Go 1.23; before, g.timer's nextwhen), a timer channel's
      // timer (hchan.timer from Go 1.23; before, the P's timer heap, whose timers hold their
      // channel in arg), and the pollDesc of a netpoller wait.
      {"g.sleepWhen", "runtime.g", "sleepWhen", false},
      {"g.timer", "runtime.g", "timer", false},
      {"timer.when", "runtime.timer", "when", false},
      {"timer.nextwhen", "runtime.timer", "nextwhen", false},
      {"timer.status", "runtime.timer", "status", false},
      {"timer.arg", "runtime.timer", "arg", false},
      {"p.timers", "runtime.p", "timers", false},
      // Go 1.23+: p.timers is a struct whose heap is a []timerWhen {timer, when}. A channel
      // timer made under asynctimerchan=1 (the default for modules older than go 1.23, until
      // Go 1.27 removed the setting) is only there: its hchan.timer stays nil.
      {"timers.heap", "runtime.timers", "heap", false},
      {"timerWhen.timer", "runtime.timerWhen", "timer", false},
      {"timerWhen.when", "runtime.timerWhen", "when", false},
      {"hchan.timer", "runtime.hchan", "timer", false},
      {"pollDesc.fd", "runtime.pollDesc", "fd", false},
      {"pollDesc.rg", "runtime.pollDesc", "rg", false},
      {"pollDesc.wg", "runtime.pollDesc", "wg", false},
      // The notify list a goroutine in sync.Cond.Wait waits on: the Cond's, whose list of
      // sudogs holds the goroutine's (src/verdict/wait_detail; Go 1.26+ also sets g.waiting).
      {"Cond.notify", "sync.Cond", "notify", false},
      {"notifyList.head", "runtime.notifyList", "head", false},
      // pprof labels (g.labels points at a runtime/pprof.labelMap). Which of the two forms a
      // binary has is which set of keys its layout holds; both exist only in programs that
      // link runtime/pprof, the only way to set labels. Go 1.24+: a struct holding a sorted
      // slice of {Key, Value string}.
      {"labels.set.list", "runtime/pprof.labelMap", "Set.List", false},
      {"labels.label.value", "internal/runtime/pprof/label.Label", "Value", false},
      // Up to Go 1.23: a map[string]string — the map header, and its bucket type as the
      // compiler lays it out for string keys and values.
      {"labels.hmap.count", "runtime.hmap", "count", false},
      {"labels.hmap.B", "runtime.hmap", "B", false},
      {"labels.hmap.buckets", "runtime.hmap", "buckets", false},
      {"labels.hmap.oldbuckets", "runtime.hmap", "oldbuckets", false},
      {"labels.bucket.tophash", "bucket<string,string>", "tophash", false},
      {"labels.bucket.keys", "bucket<string,string>", "keys", false},
      {"labels.bucket.values", "bucket<string,string>", "values|elems", false},
      {"labels.bucket.overflow", "bucket<string,string>", "overflow", false},
  };
  return specs;
}

const std::vector<FunctionSpec>& function_specs() {
  static const std::vector<FunctionSpec> specs = {
      {"runtime.newproc1", {"fn", "callergp", "callerpc", "~r0"}},
      {"runtime.gopark", {"unlockf", "lock", "reason", "traceskip"}},
      {"runtime.ready", {"gp", "traceskip", "next"}},
      {"runtime.injectglist", {"glist"}},
      {"runtime.netpoll", {"delay", "~r0"}},
      {"runtime.execute", {"gp", "inheritTime"}},
      {"runtime.goexit1", {}},
      {"runtime.goschedImpl", {"gp"}},
      {"runtime.goyield_m", {"gp"}},
      // exitsyscall's slow path on g0 (no P free) is exitsyscallNoP from Go 1.26 on.
      {"runtime.exitsyscall0|runtime.exitsyscallNoP", {"gp"}},
  };
  return specs;
}

const std::vector<const char*>& precise_structs() {
  static const std::vector<const char*> names = {"runtime.m", "runtime.p", "runtime.g"};
  return names;
}

std::vector<std::string_view> alternatives(std::string_view spec) {
  std::vector<std::string_view> out;
  while (true) {
    size_t bar = spec.find('|');
    out.push_back(spec.substr(0, bar));
    if (bar == std::string_view::npos) return out;
    spec.remove_prefix(bar + 1);
  }
}

namespace {

// Runtime constants worth carrying: the goroutine states (_Gidle, _Grunnable, …, _Gscan).
// Their names are "_G" + lower case ("_Gscanwaiting"), unlike e.g. _GoidCacheBatch.
bool wanted_constant(const std::string& short_name) {
  // The heap's geometry and the span state the verdict scan reads (src/verdict).
  static const char* const kHeap[] = {"_PageShift", "logHeapArenaBytes", "arenaBaseOffset", "arenaL1Bits",
                                      "mSpanInUse",
                                      // A pending timer's states up to Go 1.22 (src/verdict/wait_detail).
                                      "timerWaiting", "timerModifiedEarlier", "timerModifiedLater"};
  for (const char* name : kHeap) {
    if (short_name == name) return true;
  }
  if (short_name.size() <= 2 || short_name.compare(0, 2, "_G") != 0) return false;
  for (size_t i = 2; i < short_name.size(); i++) {
    char c = short_name[i];
    if (!std::islower(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

Result<std::vector<std::string>> read_wait_reasons(const ElfFile& elf, const DwarfVariable& var) {
  if (!var.array_count || *var.array_count == 0 || *var.array_count > 4096) {
    return make_error("runtime.waitReasonStrings has an unexpected type in DWARF", "");
  }
  std::vector<std::string> out;
  for (uint64_t i = 0; i < *var.array_count; i++) {
    auto hdr = elf.read(var.address + i * 16, 16);
    if (!hdr) return make_error("runtime.waitReasonStrings is not in the binary's data", "");
    uint64_t ptr, len;
    std::memcpy(&ptr, hdr->data(), 8);
    std::memcpy(&len, hdr->data() + 8, 8);
    if (len == 0) { out.emplace_back(); continue; }
    auto s = elf.read(ptr, len);
    if (!s) return make_error(fmt::format("waitReasonStrings[{}] points outside the binary", i), "");
    out.emplace_back(reinterpret_cast<const char*>(s->data()), len);
  }
  return out;
}

}  // namespace

Result<RuntimeLayout> RuntimeLayout::from_dwarf(const ElfFile& elf, const std::string& go_minor) {
  DwarfWanted wanted;
  for (const FieldSpec& f : field_specs()) wanted.structs.insert(f.struct_name);
  for (const FunctionSpec& f : function_specs()) {
    for (std::string_view name : alternatives(f.function)) wanted.functions.insert(std::string(name));
  }
  for (const char* s : precise_structs()) wanted.structs.insert(s);
  wanted.variables = {"runtime.waitReasonStrings", "runtime.semtable"};
  wanted.constant_prefix = "runtime.";
  auto types = DwarfTypes::load(elf.path(), wanted);
  if (!types) return types.error();

  RuntimeLayout l;
  l.go_minor = go_minor;
  l.source = LayoutSource::kDwarf;
  const std::string rebuild = "the binary's DWARF lacks runtime type information; rebuild it without -ldflags=-w";
  for (const FieldSpec& f : field_specs()) {
    std::optional<int64_t> off;
    for (std::string_view path : alternatives(f.path)) {
      if (!off) off = (*types)->member_offset(f.struct_name, path);
    }
    if (off) {
      l.offsets[f.key] = *off;
    } else if (f.required) {
      return make_error(fmt::format("{}: field {}.{} not found in DWARF", elf.path(), f.struct_name, f.path), rebuild);
    }
  }
  for (const FunctionSpec& f : function_specs()) {
    std::optional<std::vector<ArgLocation>> params;
    std::string_view found;
    for (std::string_view name : alternatives(f.function)) {
      if (!params && (params = (*types)->params(name))) found = name;
    }
    if (!params) {
      return make_error(fmt::format("{}: function {} not found in DWARF", elf.path(), f.function), rebuild);
    }
    for (const char* want : f.params) {
      bool found = false;
      for (const ArgLocation& a : *params) found |= a.name == want;
      if (!found) {
        return make_error(fmt::format("{}: {} has no parameter '{}' — its signature is not the one gorepro "
                                      "knows for {}", elf.path(), f.function, want, go_minor),
                          "this Go version's runtime differs from the supported ones");
      }
    }
    l.args[std::string(found)] = *params;
  }
  for (const auto& [name, value] : (*types)->constants()) {
    std::string short_name = name.substr(std::strlen("runtime."));
    if (wanted_constant(short_name)) l.constants[short_name] = value;
  }
  // semtable's entries are semaRoots padded to a cache line: their stride, for the verdict scan.
  if (auto st = (*types)->variable("runtime.semtable"); st && st->array_count && *st->array_count) {
    l.constants["semtable.stride"] = static_cast<int64_t>(st->byte_size / *st->array_count);
  }
  for (const char* s : precise_structs()) {
    if (auto words = (*types)->pointer_words(s)) l.pointer_words[s] = std::move(*words);
  }
  auto wr = (*types)->variable("runtime.waitReasonStrings");
  if (!wr) return make_error(fmt::format("{}: runtime.waitReasonStrings not found in DWARF", elf.path()), rebuild);
  auto reasons = read_wait_reasons(elf, *wr);
  if (!reasons) return reasons.error();
  l.wait_reasons = std::move(*reasons);
  return l;
}

nlohmann::json RuntimeLayout::to_json() const {
  nlohmann::json j;
  j["offsets"] = offsets;
  j["constants"] = constants;
  nlohmann::json args_j = nlohmann::json::object();
  for (const auto& [fn, params] : args) {
    nlohmann::json list = nlohmann::json::array();
    for (const ArgLocation& a : params) {
      list.push_back({{"name", a.name}, {"result", a.result}, {"regs", a.regs}, {"on_stack", a.on_stack}});
    }
    args_j[fn] = list;
  }
  j["args"] = args_j;
  j["wait_reasons"] = wait_reasons;
  j["pointer_words"] = pointer_words;
  return j;
}

Result<RuntimeLayout> RuntimeLayout::from_json(const nlohmann::json& j, const std::string& go_minor) {
  try {
    RuntimeLayout l;
    l.go_minor = go_minor;
    l.source = LayoutSource::kTable;
    l.table_generated_from = j.value("generated_from", "");
    l.offsets = j.at("offsets").get<std::map<std::string, int64_t>>();
    l.constants = j.at("constants").get<std::map<std::string, int64_t>>();
    for (const auto& [fn, list] : j.at("args").items()) {
      std::vector<ArgLocation> params;
      for (const auto& a : list) {
        params.push_back(ArgLocation{a.at("name").get<std::string>(), a.at("result").get<bool>(),
                                     a.at("regs").get<std::vector<std::string>>(), a.at("on_stack").get<bool>()});
      }
      l.args[fn] = std::move(params);
    }
    l.wait_reasons = j.at("wait_reasons").get<std::vector<std::string>>();
    if (j.contains("pointer_words")) {
      l.pointer_words = j.at("pointer_words").get<std::map<std::string, std::vector<int64_t>>>();
    }
    return l;
  } catch (const nlohmann::json::exception& e) {
    return make_error(fmt::format("the built-in layout table entry for {} is malformed: {}", go_minor, e.what()),
                      "regenerate it with scripts/gen-layout-table.sh");
  }
}

static const nlohmann::json& layout_table() {
  static const nlohmann::json table = nlohmann::json::parse(kLayoutTableJson, nullptr, false);
  return table;
}

std::vector<std::string> RuntimeLayout::table_versions() {
  std::vector<std::string> out;
  if (layout_table().is_object()) {
    for (const auto& [k, v] : layout_table().items()) out.push_back(k);
  }
  return out;
}

Result<RuntimeLayout> RuntimeLayout::from_table(const std::string& go_minor) {
  const nlohmann::json& t = layout_table();
  if (!t.is_object() || !t.contains(go_minor)) {
    std::string have;
    for (const std::string& v : table_versions()) have += (have.empty() ? "" : ", ") + v;
    return make_error(fmt::format("no built-in runtime layout for {} (stripped binaries are supported for: {})",
                                  go_minor, have.empty() ? "none" : have),
                      "rebuild the program without -ldflags='-s -w' so gorepro can read its DWARF");
  }
  return from_json(t.at(go_minor), go_minor);
}

std::optional<int64_t> RuntimeLayout::offset(std::string_view key) const {
  auto it = offsets.find(std::string(key));
  if (it == offsets.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> RuntimeLayout::constant(std::string_view name) const {
  auto it = constants.find(std::string(name));
  if (it == constants.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> RuntimeLayout::arg_register(std::string_view function, std::string_view name) const {
  auto it = args.find(std::string(function));
  // A renamed function: the spec that names `function` says under which other names to look.
  for (const FunctionSpec& f : function_specs()) {
    auto names = alternatives(f.function);
    if (it != args.end() || std::find(names.begin(), names.end(), function) == names.end()) continue;
    for (std::string_view other : names) {
      if (it == args.end()) it = args.find(std::string(other));
    }
  }
  if (it == args.end()) return std::nullopt;
  for (const ArgLocation& a : it->second) {
    if (a.name == name && !a.on_stack && !a.regs.empty()) return a.regs[0];
  }
  return std::nullopt;
}

const std::vector<int64_t>* RuntimeLayout::pointers_of(std::string_view struct_name) const {
  auto it = pointer_words.find(std::string(struct_name));
  return it == pointer_words.end() ? nullptr : &it->second;
}

std::string RuntimeLayout::wait_reason(uint64_t code) const {
  if (code < wait_reasons.size() && !wait_reasons[code].empty()) return wait_reasons[code];
  return fmt::format("waitReason({})", code);
}

}  // namespace gorepro
