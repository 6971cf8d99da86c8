#include "gdbmi/gdb_backend.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "tracer/registers.h"
#include "tracer/verdict_scan.h"
#include "tracer/tracee.h"  // entry_address_of, tracer_of, process_name

namespace gorepro::gdbmi {

using namespace std::chrono_literals;
using tracer::PollResult;

namespace {

// After this long without a word from gdb, poll() asks it something (see there).
constexpr auto kQuietPing = std::chrono::seconds(5);

// Memory is fetched in aligned blocks at least this big: the decoder's reads of one hit cluster
// (a g, the m it points to, a few stack frames), so one block usually serves several of them.
constexpr uint64_t kBlockAlign = 256;
constexpr uint64_t kMinBlock = 1024;

std::optional<uint64_t> hex_u64(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

bool unhex(std::string_view hex, std::string& out) {
  if (hex.size() % 2) return false;
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    auto nib = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return true;
}

// "SIGSEGV" → 11, by the names this system gives its signals.
int signal_number(std::string_view name) {
  if (name.rfind("SIG", 0) == 0) name.remove_prefix(3);
  for (int s = 1; s < NSIG; s++) {
    const char* abbrev = sigabbrev_np(s);
    if (abbrev && name == abbrev) return s;
  }
  return 0;
}

}  // namespace

// The program's memory as gdb reads it (`-data-read-memory-bytes`), through a stopped thread.
// Blocks read during one hit are kept until the program runs again, so the decoder's many
// small reads cost a few MI round trips.
class GdbBackend::Memory final : public TargetMemory {
 public:
  Memory(MiClient& gdb, pid_t pid, MiStats& stats) : gdb_(gdb), pid_(pid), stats_(stats), direct_reader_(pid) {}
  pid_t pid() const override { return pid_; }
  // Reads go through this stopped thread ("" = gdb's current one).
  void use_thread(std::string thread) {
    thread_ = std::move(thread);
    blocks_.clear();
  }
  // The program ran: what was read is stale.
  void forget() { blocks_.clear(); }

  // Read the stopped program's memory with process_vm_readv instead of asking gdb: the same
  // bytes (the thread is held by gdb while the decoder reads), for a system call instead of an
  // MI round trip. Used when the kernel lets gorepro read it (always for a launched program).
  void set_direct(bool on) { direct_ = on; }
  bool direct() const { return direct_; }

  bool read(uint64_t addr, void* buf, size_t len) const override {
    if (len == 0) return true;
    if (direct_) return direct_reader_.read(addr, buf, len);
    if (copy_out(addr, buf, len)) return true;
    const uint64_t begin = addr & ~(kBlockAlign - 1);
    uint64_t end = (addr + len + kBlockAlign - 1) & ~(kBlockAlign - 1);
    if (end < addr || end - begin < kMinBlock) end = begin + kMinBlock;
    // The block reaching past the object may cross into unmapped memory: gdb then answers with
    // the readable part only, which still holds [addr, addr+len) when that is readable.
    if (!fetch(begin, end - begin)) return false;
    return copy_out(addr, buf, len);
  }

 private:
  struct Block {
    uint64_t begin;
    std::string bytes;
  };
  bool copy_out(uint64_t addr, void* buf, size_t len) const {
    for (const Block& b : blocks_) {
      if (addr >= b.begin && addr + len <= b.begin + b.bytes.size() && addr + len >= addr) {
        std::memcpy(buf, b.bytes.data() + (addr - b.begin), len);
        return true;
      }
    }
    return false;
  }
  bool fetch(uint64_t begin, uint64_t size) const {
    std::string cmd = thread_.empty() ? fmt::format("-data-read-memory-bytes {:#x} {}", begin, size)
                                      : fmt::format("-data-read-memory-bytes --thread {} {:#x} {}", thread_, begin, size);
    auto a = gdb_.command(cmd);
    stats_.memory_reads++;
    if (!a) return false;
    const MiValue* memory = a->result.payload.get("memory");
    if (!memory) return false;
    bool any = false;
    for (const MiValue* m : memory->elements()) {
      auto b = m->str("begin");
      auto offset = m->str("offset");
      auto contents = m->str("contents");
      if (!b || !contents) continue;
      auto base = hex_u64(*b);
      auto off = offset ? hex_u64(*offset) : std::optional<uint64_t>(0);
      Block block;
      if (!base || !off || !unhex(*contents, block.bytes)) continue;
      block.begin = *base + *off;
      stats_.memory_bytes += block.bytes.size();
      blocks_.push_back(std::move(block));
      any = true;
    }
    return any;
  }

  MiClient& gdb_;
  pid_t pid_;
  MiStats& stats_;
  std::string thread_;
  mutable std::vector<Block> blocks_;
  bool direct_ = false;
  ProcessMemory direct_reader_;
};

GdbBackend::GdbBackend(const GoBinary& binary, GdbBackendOptions options)
    : binary_(binary), options_(std::move(options)) {}

GdbBackend::~GdbBackend() {
  verdicts_wanted_ = false;  // the sink may be gone already
  (void)detach();
}

Status GdbBackend::start_gdb() {
  auto client = MiClient::start(options_.client);
  if (!client) return client.error();
  gdb_ = std::move(*client);
  return Ok{};
}

// Everything of gdb's that would change the program, stop it, or ask a question, turned off;
// then the executable, without its symbols unless asked.
Status GdbBackend::configure_gdb(const std::string& exec_file) {
  std::vector<std::string> cmds = {
      "-gdb-set mi-async on",
      options_.non_stop ? "-gdb-set non-stop on" : "-gdb-set non-stop off",
      // runtime-gdb.py (the Go runtime's gdb helpers) and any other script next to the binary.
      "-gdb-set auto-load off",
      "-gdb-set auto-solib-add off",
      "-gdb-set exec-file-mismatch off",
      "-gdb-set print thread-events off",
      "-gdb-set print inferior-events off",
      "-gdb-set print frame-arguments none",
      "-gdb-set breakpoint pending off",
      // A fork's child runs free (gdb removes the breakpoints from it); an exec is caught below.
      "-gdb-set detach-on-fork on",
      "-gdb-set follow-fork-mode parent",
      // Signals reach the program as they would without gdb, and never stop it: Go preempts
      // goroutines with SIGURG many times a second, uses SIGSEGV for nil checks, SIGPROF for
      // pprof; SIGINT is the user's, not gdb's. (SIGTRAP stays gdb's: breakpoints.)
      "-interpreter-exec console \"handle all nostop noprint pass\"",
      "-interpreter-exec console \"handle SIGINT nostop noprint pass\"",
      // A gdb that hits an internal error exits (gorepro reports it) instead of asking whether
      // to quit, a question nobody would answer; an internal warning is only logged.
      "-interpreter-exec console \"maint set internal-error quit yes\"",
      "-interpreter-exec console \"maint set internal-error corefile no\"",
      "-interpreter-exec console \"maint set internal-warning quit no\"",
      "-interpreter-exec console \"maint set internal-warning corefile no\"",
  };
  cmds.push_back((options_.symbols ? "-file-exec-and-symbols " : "-file-exec-file ") + mi_quote(exec_file));
  for (const std::string& c : cmds) {
    if (auto a = gdb_->command(c); !a) return a.error();
  }
  // Registers by number: gdb's numbering of this architecture, read once.
  auto names = gdb_->command("-data-list-register-names");
  if (!names) return names.error();
  const MiValue* list = names->result.payload.get("register-names");
  if (!list) return make_error("gdb listed no register names", "is this gdb built for x86-64?");
  auto elems = list->elements();
  for (const tracer::NamedRegister& reg : tracer::general_registers()) {
    bool found = false;
    for (size_t i = 0; i < elems.size(); i++) {
      if (elems[i]->text == reg.name) {
        reg_numbers_.push_back(std::to_string(i));
        reg_offsets_.push_back(reg.offset);
        reg_command_ += " " + std::to_string(i);
        found = true;
        break;
      }
    }
    if (!found) return make_error(fmt::format("gdb has no register {}", reg.name), "gorepro needs an x86-64 gdb");
  }
  // orig_rax, where gdb has it (amd64 Linux): whether a thread is in a system call, whose
  // registers the leak verdicts do not take for roots (verdict::ThreadRoots::in_syscall).
  for (size_t i = 0; i < elems.size(); i++) {
    if (elems[i]->text != "orig_rax") continue;
    reg_numbers_.push_back(std::to_string(i));
    reg_offsets_.push_back(offsetof(user_regs_struct, orig_rax));
    reg_command_ += " " + std::to_string(i);
  }
  return Ok{};
}

Status GdbBackend::fail_attach(Error e) {
  if (launched_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);  // it never ran a single instruction of the program
    waitpid(pid_, nullptr, 0);
  }
  gdb_.reset();
  attached_ = false;
  return e;
}

Status GdbBackend::wait_attached() {
  // Non-stop: one *stopped per thread; all-stop: one for all. The attach is complete when
  // every thread gdb knows of has stopped; gdb reports the threads first (=thread-created).
  const auto deadline = Clock::now() + options_.client.default_timeout;
  size_t threads = 0, stopped = 0;
  bool any_stop = false;
  while (!any_stop || (options_.non_stop && stopped < threads)) {
    auto r = gdb_->next_async(deadline);
    if (!r) {
      if (gdb_->failure()) return *gdb_->failure();
      return make_error(fmt::format("gdb did not report the program stopped within {} s after attaching",
                                    options_.client.default_timeout.count() / 1000),
                        "gdb seems hung");
    }
    if (r->kind == MiRecordKind::kNotify && r->klass == "thread-created") threads++;
    if (r->kind == MiRecordKind::kExec && r->klass == "stopped") {
      any_stop = true;
      stopped++;
    }
  }
  return Ok{};
}

Status GdbBackend::launch(const tracer::LaunchSpec& spec) {
  GOREPRO_CHECK(!gdb_ && pid_ == 0, "launch after launch or attach");
  if (auto st = start_gdb(); !st) return st;
  if (auto st = configure_gdb(spec.path); !st) return fail_attach(st.error());
  auto child = tracer::GatedChild::spawn(spec.path, spec.argv, spec.options);
  if (!child) return fail_attach(child.error());
  child_.emplace(std::move(*child));
  pid_ = child_->pid();
  launched_ = true;
  // gdb attaches to the child waiting at its gate (still gorepro's code: the exec file set
  // above is not it, hence exec-file-mismatch off), then follows it through the exec.
  if (auto a = gdb_->command(fmt::format("-target-attach {}", pid_)); !a) return fail_attach(a.error());
  attached_ = true;
  if (auto st = wait_attached(); !st) return fail_attach(st.error());
  auto c = gdb_->command("-interpreter-exec console \"catch exec\"");
  if (!c) return fail_attach(c.error());
  child_->open_gate();
  if (auto a = gdb_->command(options_.non_stop ? "-exec-continue --all" : "-exec-continue"); !a) {
    return fail_attach(a.error());
  }
  const auto deadline = Clock::now() + options_.client.default_timeout;
  while (true) {
    auto r = gdb_->next_async(deadline);
    if (!r) {
      if (gdb_->failure()) return fail_attach(*gdb_->failure());
      return fail_attach(make_error(fmt::format("{} did not start within {} s under gdb", spec.path,
                                                options_.client.default_timeout.count() / 1000),
                                    "gdb seems hung"));
    }
    if (r->kind == MiRecordKind::kNotify && r->klass == "breakpoint-created") {
      if (auto n = r->payload.get("bkpt") ? r->payload.get("bkpt")->str("number") : std::nullopt) exec_catch_ = *n;
    }
    if (r->kind != MiRecordKind::kExec || r->klass != "stopped") continue;
    const auto reason = r->payload.str("reason").value_or("");
    if (reason == "exec") {
      if (auto n = r->payload.str("bkptno")) exec_catch_ = *n;
      break;
    }
    if (reason == "exited" || reason == "exited-normally" || reason == "exited-signalled") {
      auto e = child_->exec_errno();
      waitpid(pid_, nullptr, 0);
      gdb_.reset();
      attached_ = false;
      return make_error(e ? fmt::format("cannot run {}: {}", spec.path, std::strerror(*e))
                          : fmt::format("{} exited before it started", spec.path),
                        "check the program path and its permissions");
    }
    // Anything else before the exec (a signal to gorepro's child) is passed on.
    if (auto t = r->payload.str("thread-id")) resume(std::string(*t));
  }
  // gdb read the new image's symbols as it followed the exec: without them each stop costs
  // no symbol or source-line lookup.
  if (!options_.symbols) {
    if (auto a = gdb_->command("-interpreter-exec console \"symbol-file\""); !a) return fail_attach(a.error());
  }
  bias_ = tracer::entry_address_of(pid_);
  if (bias_) bias_ -= binary_.elf().entry();
  memory_ = std::make_unique<Memory>(*gdb_, pid_, mi_stats_);
  return Ok{};
}

Status GdbBackend::attach(pid_t pid) {
  GOREPRO_CHECK(!gdb_ && pid_ == 0, "attach after launch or attach");
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) {
    return make_error(fmt::format("no process with pid {}", pid), "check the pid with `ps` or `pgrep`");
  }
  if (pid_t other = tracer::tracer_of(pid)) {
    return make_error(fmt::format("pid {} is already traced by pid {} ({})", pid, other, tracer::process_name(other)),
                      "detach the other debugger or tracer first");
  }
  if (auto st = start_gdb(); !st) return st;
  if (auto st = configure_gdb(fmt::format("/proc/{}/exe", pid)); !st) return fail_attach(st.error());
  pid_ = pid;
  if (auto a = gdb_->command(fmt::format("-target-attach {}", pid)); !a) {
    Error e = a.error();
    e.hint = "run gorepro as root or as the process's user (and check /proc/sys/kernel/yama/ptrace_scope)";
    pid_ = 0;
    return fail_attach(e);
  }
  attached_ = true;
  if (auto st = wait_attached(); !st) return fail_attach(st.error());
  bias_ = tracer::entry_address_of(pid_);
  if (bias_) bias_ -= binary_.elf().entry();
  memory_ = std::make_unique<Memory>(*gdb_, pid_, mi_stats_);
  return Ok{};
}

Status GdbBackend::patch(uint64_t address, std::span<const uint8_t> bytes) {
  GOREPRO_CHECK(attached_ && !decoder_, "patch before launch or after arm");
  std::vector<uint8_t> original(bytes.size());
  if (!memory_->read(address, original.data(), original.size())) {
    return make_error(fmt::format("cannot read the program's memory at {:#x}", address), "");
  }
  if (auto st = write_memory(address, bytes); !st) return st;
  patches_.emplace_back(address, std::move(original));
  return Ok{};
}

Status GdbBackend::write_memory(uint64_t address, std::span<const uint8_t> bytes) {
  std::string hex;
  for (uint8_t b : bytes) hex += fmt::format("{:02x}", b);
  auto a = gdb_->command(fmt::format("-data-write-memory-bytes {:#x} {}", address, hex));
  if (memory_) memory_->forget();
  if (!a) return a.error();
  return Ok{};
}

Result<uint32_t> GdbBackend::lwp_of(const std::string& thread) {
  if (auto it = lwps_.find(thread); it != lwps_.end()) return it->second;
  auto a = gdb_->command("-thread-info " + thread);
  if (!a) return a.error();
  const MiValue* threads = a->result.payload.get("threads");
  if (threads) {
    for (const MiValue* t : threads->elements()) {
      // "LWP 1234", "Thread 0x7f... (LWP 1234)", or "process 1234" while it has one thread.
      auto target = t->str("target-id");
      if (!target) continue;
      size_t at = target->rfind("LWP ");
      size_t skip = 4;
      if (at == std::string_view::npos) {
        at = target->rfind("process ");
        skip = 8;
      }
      if (at == std::string_view::npos) continue;
      uint32_t lwp = static_cast<uint32_t>(std::strtoul(std::string(target->substr(at + skip)).c_str(), nullptr, 10));
      if (lwp == 0) continue;
      lwps_[thread] = lwp;
      return lwp;
    }
  }
  return make_error(fmt::format("gdb did not say which LWP thread {} is", thread), "");
}

Result<tracer::Registers> GdbBackend::registers(const std::string& thread) {
  auto a = gdb_->command(fmt::format("-data-list-register-values --thread {} x{}", thread, reg_command_));
  mi_stats_.register_reads++;
  if (!a) return a.error();
  const MiValue* values = a->result.payload.get("register-values");
  if (!values) return make_error("gdb answered no register values", "");
  tracer::Registers regs;
  regs.r.orig_rax = ~0ull;  // not in a system call, unless gdb says it is
  size_t filled = 0;
  for (const MiValue* v : values->elements()) {
    auto number = v->str("number");
    auto value = v->str("value");
    if (!number || !value) continue;
    for (size_t i = 0; i < reg_numbers_.size(); i++) {
      if (reg_numbers_[i] != *number) continue;
      auto x = hex_u64(*value);
      if (!x) return make_error(fmt::format("gdb gave register {} as {}", *number, *value), "");
      std::memcpy(reinterpret_cast<char*>(&regs.r) + reg_offsets_[i], &*x, 8);
      filled++;
    }
  }
  if (filled != reg_numbers_.size()) return make_error("gdb left registers out of its answer", "");
  return regs;
}

Result<tracer::ArmResult> GdbBackend::arm(const tracer::ArmSpec& spec, tracer::EventSink& sink) {
  GOREPRO_CHECK(attached_ && !decoder_, "arm before launch/attach or twice");
  auto fail = [&](Error e) -> Result<tracer::ArmResult> {
    (void)detach();
    return e;
  };
  if (options_.memory != GdbMemory::kMi) {
    // Direct reads when the kernel allows them: probe with the first probe's code.
    uint8_t probe[16];
    const uint64_t at = (spec.probes.empty() || spec.probes[0]->addresses.empty() ? binary_.elf().entry()
                                                                                   : spec.probes[0]->addresses[0]) + bias_;
    memory_->set_direct(ProcessMemory(pid_).read(at, probe, sizeof probe));
    if (options_.memory == GdbMemory::kDirect && !memory_->direct()) {
      return fail(make_error(fmt::format("cannot read the memory of pid {} directly: {}", pid_, std::strerror(errno)),
                             "use --gdb-memory=mi, or run gorepro as root"));
    }
  }
  hold_sink_ = std::make_unique<tracer::HoldSink>(sink, hold_when_);
  auto decoder = tracer::EventDecoder::make(binary_, *memory_, bias_, *hold_sink_, spec.stack_depth);
  if (!decoder) return fail(decoder.error());
  decoder_.emplace(std::move(*decoder));
  decoder_->set_settle_reads(spec.settle_reads);
  tracer::ArmResult result;
  if (spec.enumerate_preexisting) {
    memory_->use_thread("");
    auto n = decoder_->snapshot_goroutines(tracer::monotonic_ns());
    if (!n) return fail(n.error());
    result.preexisting = *n;
  }
  // Every breakpoint in flight at once; the instruction under each is read first (gdb shows
  // memory without its own breakpoints) for the stack-check jump test.
  struct Placed {
    uint64_t token;
    Site site;
  };
  std::vector<Placed> placed;
  for (const Probe* p : spec.probes) {
    auto role = tracer::probe_role(p->role);
    GOREPRO_CHECK(role.has_value(), "probe role without a decoder");
    for (uint64_t addr : p->addresses) {
      Site site{*role, p->past_stack_check, {}};
      if (p->past_stack_check) {
        uint8_t code[16];
        if (!memory_->read(addr + bias_, code, sizeof code)) {
          return fail(make_error(fmt::format("cannot read the program's code at {:#x}", addr + bias_),
                                 "the binary on disk may differ from the running one"));
        }
        site.insn = tracer::InstructionEmulator::decode(code, addr + bias_);
      }
      auto t = gdb_->send(fmt::format("-break-insert *{:#x}", addr + bias_));
      if (!t) return fail(t.error());
      placed.push_back({*t, std::move(site)});
    }
    result.probes.push_back(fmt::format("{}:{}", p->role, p->function.name));
  }
  for (Placed& p : placed) {
    auto a = gdb_->wait(p.token, Clock::now() + options_.client.default_timeout);
    if (!a) return fail(a.error());
    const MiValue* bkpt = a->result.payload.get("bkpt");
    auto number = bkpt ? bkpt->str("number") : std::nullopt;
    if (!number) return fail(make_error("gdb created a breakpoint without a number", ""));
    sites_.emplace(std::string(*number), std::move(p.site));
  }
  // Exec: gorepro lets go of the program just before it, where the Go runtime announces it
  // (syscall.Exec calls runtime_BeforeExec before execve). gdb 13 in non-stop mode can fail an
  // internal assertion following a multi-threaded program through exec; `catch exec` stays as
  // the fallback for execs that bypass syscall.Exec.
  if (auto before = binary_.function("syscall.runtime_BeforeExec")) {
    auto a = gdb_->command(fmt::format("-break-insert *{:#x}", before->entry + bias_));
    if (!a) return fail(a.error());
    const MiValue* bkpt = a->result.payload.get("bkpt");
    if (auto number = bkpt ? bkpt->str("number") : std::nullopt) exec_guard_ = *number;
  }
  // Leak verdicts at the program's exit: every way a Go program ends by itself (main returns,
  // os.Exit, a fatal panic) goes through runtime.exit, whose exit_group is still ahead there.
  // A breakpoint rather than `catch syscall exit_group`: that makes gdb stop every system call
  // of every thread to look at it.
  if (spec.verdicts) {
    auto exit = binary_.function("runtime.exit");
    if (!exit) return fail(make_error("cannot find runtime.exit in the binary for the leak verdicts", "use --no-verdict"));
    auto a = gdb_->command(fmt::format("-break-insert *{:#x}", exit->entry + bias_));
    if (!a) return fail(a.error());
    const MiValue* bkpt = a->result.payload.get("bkpt");
    if (auto number = bkpt ? bkpt->str("number") : std::nullopt) exit_stop_ = *number;
    verdicts_wanted_ = true;
  }
  if (spec.start_held) {
    holding_ = true;  // every thread is still stopped from launch/attach
    memory_->use_thread("");
    return result;
  }
  memory_->forget();
  if (auto a = gdb_->command(options_.non_stop ? "-exec-continue --all" : "-exec-continue"); !a) return fail(a.error());
  return result;
}

void GdbBackend::resume(const std::string& thread) {
  memory_ ? memory_->forget() : void();
  (void)gdb_->send_nowait(options_.non_stop ? "-exec-continue --thread " + thread : std::string("-exec-continue"));
}

tracer::TargetExit GdbBackend::exit_status(const MiRecord& stopped) {
  // Our child: the status the kernel gives its parent, once gdb has let go of the zombie.
  if (launched_) {
    for (int i = 0; i < 400; i++) {
      int status = 0;
      pid_t got = waitpid(pid_, &status, WNOHANG);
      if (got == pid_) {
        return WIFEXITED(status) ? tracer::TargetExit{WEXITSTATUS(status), 0}
                                 : tracer::TargetExit{128 + WTERMSIG(status), WTERMSIG(status)};
      }
      if (got < 0) break;
      std::this_thread::sleep_for(5ms);
    }
  }
  // Attached (or not reaped in time): what gdb says — exit-code in octal, or a signal's name.
  if (auto sig = stopped.payload.str("signal-name")) {
    int s = signal_number(*sig);
    return tracer::TargetExit{128 + s, s};
  }
  auto code = stopped.payload.str("exit-code");
  return tracer::TargetExit{code ? static_cast<int>(std::strtol(std::string(*code).c_str(), nullptr, 8)) : 0, 0};
}

// Whether the thread a resume command named is still there and stopped by its tracer.
bool GdbBackend::thread_held(const std::string& resume_command) const {
  const size_t at = resume_command.find("--thread ");
  if (at == std::string::npos) return !exit_ && tracer::process_state(pid_) == 't';
  auto lwp = lwps_.find(resume_command.substr(at + 9));
  if (lwp == lwps_.end()) return false;  // gdb told us it exited
  return tracer::process_state(static_cast<pid_t>(lwp->second)) == 't';
}

// Whether every thread of pid has exited and waits to be reaped (or is gone).
static bool all_threads_zombie(pid_t pid) {
  std::error_code ec;
  bool any = false;
  for (const auto& t : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    const char state = tracer::process_state(static_cast<pid_t>(std::stoi(t.path().filename().string())));
    if (state != 0 && state != 'Z' && state != 'X') return false;
    any = true;
  }
  return any || tracer::process_state(pid) == 'Z';
}

// gdb can lose a program's exit: a thread resumed just as the process exits makes its event
// handling fail ("Couldn't get registers: No such process") and no *stopped follows. The
// kernel is asked instead: our child's status once gdb let go of it, else /proc.
bool GdbBackend::program_gone() {
  if (exit_) return true;
  if (launched_) {
    auto reap = [&](int tries) {
      for (int i = 0; i < tries; i++) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          exit_ = WIFEXITED(status) ? tracer::TargetExit{WEXITSTATUS(status), 0}
                                    : tracer::TargetExit{128 + WTERMSIG(status), WTERMSIG(status)};
          return true;
        }
        if (i + 1 < tries) std::this_thread::sleep_for(5ms);
      }
      return false;
    };
    if (reap(1)) return true;
    // Every thread a zombie that gdb does not reap (it lost their exits, as above): the kernel
    // hands the program to us, its parent, only once its tracer lets go. gdb has nothing left
    // to do for a dead program, so it is ended, and the exit status is the kernel's.
    if (gdb_ && gdb_->alive() && all_threads_zombie(pid_)) {
      gdb_->kill();
      return reap(400);
    }
    return false;
  }
  char state = tracer::process_state(pid_);
  if (state != 0 && state != 'Z' && state != 'X') return false;
  exit_ = exit_from_gdb_.value_or(tracer::TargetExit{});
  return true;
}

PollResult& GdbBackend::exited(PollResult& out) {
  attached_ = false;
  out.kind = PollResult::Kind::kExited;
  out.exit_status = exit_->exit_status;
  out.signal = exit_->signal;
  return out;
}

bool GdbBackend::on_breakpoint(const MiRecord& r, PollResult& out) {
  const std::string thread(r.payload.str("thread-id").value_or(""));
  auto bkptno = r.payload.str("bkptno");
  if (bkptno && !exec_guard_.empty() && *bkptno == exec_guard_) {
    // The thread stays stopped: detach() lets it go into its exec, untraced.
    out.kind = PollResult::Kind::kExec;
    out.message = "the program is calling exec; the new program image is not traced, recording ends";
    return true;
  }
  if (bkptno && !exit_stop_.empty() && *bkptno == exit_stop_) {
    // The program exits: its verdicts now, with every thread stopped; then it goes on into its
    // exit_group. In a hold (stopping_), the thread just stays stopped with the others.
    if (stopping_) return false;
    if (verdicts_wanted_ && !take_verdicts(out)) return true;
    if (holding_) {  // take_verdicts held the program: let every thread go
      holding_ = false;
      memory_->forget();
      (void)gdb_->send_nowait(options_.non_stop ? "-exec-continue --all" : "-exec-continue");
    } else {
      resume(thread);
    }
    return false;
  }
  if (!bkptno || !sites_.count(std::string(*bkptno))) {
    resume(thread);  // not ours (a breakpoint a gdb user set): let it go
    return false;
  }
  auto regs = registers(thread);
  if (!regs) return on_lost_hit(thread, out);
  return on_hit(std::string(*bkptno), thread, *regs, out);
}

PollResult& GdbBackend::gdb_gone(PollResult& out) {
  gdb_lost_ = true;
  out.kind = PollResult::Kind::kFailed;
  // gdb's breakpoints stay in the program's code when gdb dies without detaching: the next
  // thread to reach one stops with SIGTRAP, which ends the program.
  out.message = gdb_->failure()->what +
                " — its breakpoints stay in the program, which ends (SIGTRAP) at the next one; record again";
  return out;
}

void GdbBackend::end_hung_gdb() {
  gdb_->give_up(make_error(fmt::format("gdb (pid {}) stopped answering for {} s during the recording and was ended",
                                       gdb_->gdb_pid(), options_.client.default_timeout.count() / 1000)));
}

bool GdbBackend::on_lost_hit(const std::string& thread, PollResult& out) {
  if (gdb_->alive() && gdb_->timeouts() > 0) {
    // A command at a hit went unanswered: gdb is hung, holding the program's threads.
    end_hung_gdb();
  }
  if (!gdb_->alive()) {
    gdb_gone(out);
    return true;
  }
  if (!stopping_) resume(thread);
  return false;
}

bool GdbBackend::on_hit(const std::string& bkpt, const std::string& thread, const tracer::Registers& regs,
                        PollResult& out) {
  const uint64_t now = tracer::monotonic_ns();
  auto site = sites_.find(bkpt);
  auto lwp = lwp_of(thread);
  if (site == sites_.end() || !lwp) return on_lost_hit(thread, out);
  const Site& s = site->second;
  Status st = Ok{};
  if (!s.past_stack_check || !s.insn.is_conditional_jump() || !s.insn.branch_taken(regs)) {
    memory_->use_thread(thread);
    st = decoder_->on_hit(s.role, *lwp, regs, now);
  }
  if (st && !stopping_ && hold_sink_->matched) {
    out = hold();  // this thread stays where it is
    return true;
  }
  if (!stopping_) resume(thread);
  if (!st) {
    out.kind = PollResult::Kind::kSinkFailed;
    out.message = st.error().message();
    return true;
  }
  return false;
}

bool GdbBackend::on_async(const MiRecord& r, PollResult& out) {
  if (r.kind == MiRecordKind::kExec && r.klass == "stopped") {
    const std::string reason(r.payload.str("reason").value_or(""));
    if (reason == "breakpoint-hit") return on_breakpoint(r, out);
    if (reason == "exec") {
      out.kind = PollResult::Kind::kExec;
      out.message = "the program called exec; the new program image is not traced, recording ends";
      return true;
    }
    if (reason == "exited" || reason == "exited-normally" || reason == "exited-signalled") {
      exit_ = exit_status(r);
      exited(out);
      return true;
    }
    // Anything else stopped a thread gorepro did not ask to stop: let it run (unless hold()
    // stopped it).
    if (stopping_) return false;
    if (auto t = r.payload.str("thread-id")) resume(std::string(*t));
    return false;
  }
  if (r.kind == MiRecordKind::kNotify && r.klass == "thread-exited") {
    if (auto id = r.payload.str("id")) lwps_.erase(std::string(*id));
  }
  if (r.kind == MiRecordKind::kNotify && r.klass == "thread-group-exited") {
    if (auto code = r.payload.str("exit-code")) {
      exit_from_gdb_ = tracer::TargetExit{static_cast<int>(std::strtol(std::string(*code).c_str(), nullptr, 8)), 0};
    }
  }
  return false;
}

PollResult GdbBackend::poll(uint64_t until_ns) {
  GOREPRO_CHECK(decoder_.has_value(), "poll before arm");
  GOREPRO_CHECK(!holding_, "poll while the program is held: resume() first");
  PollResult out;
  while (true) {
    if (stop_.load(std::memory_order_relaxed)) {
      out.kind = PollResult::Kind::kStopRequested;
      return out;
    }
    if (hold_requested_.load(std::memory_order_relaxed)) return hold();
    for (const MiClient::NowaitError& e : gdb_->take_nowait_errors()) {
      // A thread gdb could not resume has usually just exited (gdb: "Invalid thread id",
      // "Thread id: N has terminated"): only one that is still there, held, is a failure.
      if (thread_held(e.command)) {
        out.kind = PollResult::Kind::kFailed;
        out.message = fmt::format("gdb refused `{}`: {}", e.command, e.message);
        return out;
      }
    }
    const uint64_t now = tracer::monotonic_ns();
    if (now >= until_ns && !gdb_->has_async()) {
      // gdb's death first: a program whose gdb was killed ends soon after (SIGTRAP at the next
      // breakpoint), and that end is not the program's own. Its output pipe is closed before
      // the kernel lets the program's threads go, so a read here sees it first.
      gdb_->poll();
      if (!gdb_->alive()) {
        return gdb_gone(out);
      }
      if (gdb_->has_async()) continue;
      if (program_gone()) return exited(out);
      // A quiet gdb is asked something now and then: a hung one then shows as overdue (its
      // breakpoints would hold the program's threads without a word on the MI channel).
      if (!gdb_->busy() && Clock::now() - gdb_->last_output() > kQuietPing) {
        (void)gdb_->send_nowait("-gdb-show confirm");
      }
      if (gdb_->overdue(options_.client.default_timeout)) {
        // A thread resumed long ago is not answered for: gdb is hung, with the program's
        // threads held at their breakpoints. End it, with that as the reason.
        end_hung_gdb();
        gdb_gone(out);
      }
      return out;  // kTimeout, or kFailed
    }
    const auto deadline = Clock::now() + std::chrono::nanoseconds(until_ns > now ? until_ns - now : 0);
    auto r = gdb_->next_async(deadline);
    if (!r) {
      if (!gdb_->alive()) {
        return gdb_gone(out);
      }
      continue;  // timeout or wake(): the checks above decide
    }
    if (on_async(*r, out)) return out;
  }
}

bool GdbBackend::take_verdicts(PollResult& out) {
  verdicts_wanted_ = false;
  if (!holding_) {
    PollResult held = hold();
    if (held.kind != PollResult::Kind::kHeld) {
      verdict_error_ = "no leak verdicts: the program could not be stopped" + (held.message.empty() ? "" : ": " + held.message);
      if (held.kind == PollResult::Kind::kTimeout) return true;
      out = held;
      return false;
    }
  }
  auto v = verdicts_now();
  if (!v) {
    verdict_error_ = v.error().message();
  } else if (Status st = hold_sink_->verdicts_taken(*v); !st) {
    verdict_error_ = st.error().message();
  }
  return true;
}

Result<replay::LeakVerdicts> GdbBackend::verdicts_now() {
  GOREPRO_CHECK(holding_, "verdicts_now while the program runs");
  auto info = gdb_->command("-thread-info");
  if (!info) return info.error();
  std::vector<std::pair<pid_t, tracer::Registers>> threads;
  if (const MiValue* list = info->result.payload.get("threads")) {
    for (const MiValue* t : list->elements()) {
      auto id = t->str("id");
      if (!id) continue;
      auto lwp = lwp_of(std::string(*id));
      auto regs = registers(std::string(*id));
      if (!lwp || !regs) continue;  // a thread that exited meanwhile
      threads.emplace_back(static_cast<pid_t>(*lwp), *regs);
    }
  }
  if (threads.empty()) return make_error("no leak verdicts: gdb gave no thread's registers", "");
  memory_->use_thread("");
  // Direct reads batch up to 1024 ranges per system call; through gdb, one MI command a block.
  if (memory_->direct()) return tracer::scan_stopped(binary_, ProcessMemory(pid_), bias_, threads);
  return tracer::scan_stopped(binary_, *memory_, bias_, threads);
}

PollResult GdbBackend::hold() {
  PollResult out;
  hold_requested_.store(false, std::memory_order_relaxed);
  const std::optional<replay::Event> held_at = hold_sink_->matched;
  stopping_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{stopping_};
  if (auto a = gdb_->command(options_.non_stop ? "-exec-interrupt --all" : "-exec-interrupt"); !a) {
    if (program_gone()) return exited(out);
    if (!gdb_->alive()) return gdb_gone(out);
    out.kind = PollResult::Kind::kFailed;
    out.message = a.error().message();
    return out;
  }
  // Every thread reports its stop (*stopped); one that hit a probe first reports that hit,
  // which is decoded now: it happened before the hold. -thread-info says when none runs.
  const auto deadline = Clock::now() + options_.client.default_timeout;
  while (true) {
    while (auto r = gdb_->next_async(Clock::now() + 20ms)) {
      if (on_async(*r, out)) return out;  // exited, gdb gone, or the sink failed
    }
    if (!gdb_->alive()) return gdb_gone(out);
    auto info = gdb_->command("-thread-info");
    if (!info) {
      if (program_gone()) return exited(out);
      out.kind = PollResult::Kind::kFailed;
      out.message = info.error().message();
      return out;
    }
    bool running = false;
    if (const MiValue* threads = info->result.payload.get("threads")) {
      for (const MiValue* t : threads->elements()) running |= t->str("state").value_or("") != "stopped";
    }
    if (!running && !gdb_->has_async()) break;
    if (Clock::now() > deadline) {
      out.kind = PollResult::Kind::kFailed;
      out.message = fmt::format("gdb did not stop the program's threads within {} s",
                                options_.client.default_timeout.count() / 1000);
      return out;
    }
  }
  hold_sink_->matched.reset();
  memory_->use_thread("");
  holding_ = true;
  out.kind = PollResult::Kind::kHeld;
  out.held_at = held_at;
  return out;
}

void GdbBackend::request_hold() {
  hold_requested_.store(true, std::memory_order_relaxed);
  if (gdb_) gdb_->wake();
}

Status GdbBackend::resume() {
  GOREPRO_CHECK(holding_, "resume without a hold");
  holding_ = false;
  memory_->forget();
  if (auto a = gdb_->command(options_.non_stop ? "-exec-continue --all" : "-exec-continue"); !a) return a.error();
  return Ok{};
}

const TargetMemory& GdbBackend::memory() const { return *memory_; }

Result<std::string> GdbBackend::passthrough(std::string_view command) {
  if (!gdb_ || !gdb_->alive()) return make_error("gdb is gone", "");
  if (!symbols_loaded_ && !options_.symbols) {
    // `record` runs gdb without symbols (no lookups at each stop); a person asking gdb about
    // the program wants them. Loaded once, the first time.
    auto a = gdb_->command("-file-symbol-file " + mi_quote(binary_.path()), std::chrono::seconds(120));
    if (!a) return a.error();
  }
  symbols_loaded_ = true;
  auto a = gdb_->command("-interpreter-exec console " + mi_quote(command));
  if (!a) return a.error();
  return a->console;
}

Status GdbBackend::kill() {
  if (!gdb_ || !attached_ || program_gone()) return Ok{};
  holding_ = false;
  ::kill(pid_, SIGKILL);
  // gdb sees the end and lets go of the program; then the kernel tells gorepro (its parent) or
  // /proc. Nothing is decoded meanwhile.
  const auto deadline = Clock::now() + options_.client.default_timeout;
  while (!program_gone() && gdb_->alive() && Clock::now() < deadline) {
    auto r = gdb_->next_async(Clock::now() + 20ms);
    if (!r || r->kind != MiRecordKind::kExec || r->klass != "stopped") continue;
    const std::string reason(r->payload.str("reason").value_or(""));
    if (reason == "exited" || reason == "exited-normally" || reason == "exited-signalled") exit_ = exit_status(*r);
  }
  if (!program_gone()) return make_error(fmt::format("pid {} did not end after SIGKILL", pid_), "");
  attached_ = false;
  return Ok{};
}

void GdbBackend::request_stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (gdb_) gdb_->wake();
}

Status GdbBackend::detach() {
  if (!gdb_) return Ok{};
  Status st = Ok{};
  // gdb died: nothing can be detached (poll() said so); a launched program is reaped by the caller.
  if (gdb_lost_) attached_ = false;
  if (attached_ && program_gone()) attached_ = false;  // nothing left to let go of
  if (verdicts_wanted_ && attached_ && gdb_->alive() && decoder_) {
    // The end of a recording that did not see the program exit: the verdicts of this instant.
    PollResult out;
    (void)take_verdicts(out);
  }
  verdicts_wanted_ = false;
  if (attached_ && program_gone()) attached_ = false;
  if (attached_ && gdb_->alive()) {
    for (const auto& [address, original] : patches_) {
      if (auto w = write_memory(address, original); !w && st.ok()) st = w;
    }
    patches_.clear();
    // gdb stops the threads still running, removes every breakpoint and detaches each thread.
    if (auto a = gdb_->command("-target-detach"); !a) st = a.error();
  }
  attached_ = false;
  gdb_.reset();
  memory_.reset();
  return st;
}

tracer::BackendStats GdbBackend::stats() const {
  return decoder_ ? tracer::stats_of(decoder_->stats()) : tracer::BackendStats{};
}

}  // namespace gorepro::gdbmi
