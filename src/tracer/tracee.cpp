#include "tracer/tracee.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "tracer/spawn.h"

namespace gorepro::tracer {

namespace {

constexpr long kSeizeOptions = PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;

std::vector<pid_t> list_tasks(pid_t pid) {
  std::vector<pid_t> out;
  DIR* d = opendir(fmt::format("/proc/{}/task", pid).c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
  }
  closedir(d);
  return out;
}

bool is_group_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

// Whether a SIGTRAP waits in the thread's own pending set (/proc: SigPnd, signal 5 = bit 4).
// The kernel's struct ucontext on x86-64 (uapi asm/ucontext.h, asm/sigcontext.h): where it saves
// a thread's state when it delivers a signal, pointed to by the handler's third argument.
struct KernelSigcontext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2, fpstate, reserved[8];
};
struct KernelUcontext {
  uint64_t flags, link;
  uint64_t stack_sp;
  int32_t stack_flags, pad;
  uint64_t stack_size;
  KernelSigcontext mcontext;
  uint64_t sigmask;
};
static_assert(sizeof(KernelSigcontext) == 256 && offsetof(KernelUcontext, mcontext) == 40 &&
              offsetof(KernelUcontext, sigmask) == 296);

bool sigtrap_pending(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", tid);
  FILE* f = std::fopen(path, "re");
  if (!f) return false;
  char line[256];
  bool pending = false;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "SigPnd:", 7) == 0) {
      pending = (std::strtoull(line + 7, nullptr, 16) >> (SIGTRAP - 1)) & 1;
      break;
    }
  }
  std::fclose(f);
  return pending;
}

}  // namespace

pid_t tracer_of(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("TracerPid:", 0) == 0) return static_cast<pid_t>(std::atoi(line.c_str() + 10));
  }
  return 0;
}

char process_state(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  std::getline(in, stat);
  size_t close = stat.rfind(')');  // "pid (comm) S ...": comm may hold spaces and parentheses
  return close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : 0;
}

uint64_t entry_address_of(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/auxv", pid), std::ios::binary);
  Elf64_auxv_t aux;
  while (in.read(reinterpret_cast<char*>(&aux), sizeof aux)) {
    if (aux.a_type == AT_ENTRY) return aux.a_un.a_val;
    if (aux.a_type == AT_NULL) break;
  }
  return 0;
}

std::string process_name(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(in, name);
  return name;
}

Result<std::unique_ptr<Tracee>> Tracee::launch(const std::string& path, const std::vector<std::string>& argv,
                                               const LaunchOptions& options) {
  auto child = GatedChild::spawn(path, argv, options);
  if (!child) return child.error();
  const pid_t pid = child->pid();
  std::unique_ptr<Tracee> t(new Tracee());
  t->pid_ = pid;
  t->launched_ = true;
  if (ptrace(PTRACE_SEIZE, pid, nullptr, kSeizeOptions | PTRACE_O_EXITKILL) != 0) {
    int e = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return make_error(fmt::format("cannot trace the new process: {}", std::strerror(e)),
                      "ptrace is not permitted here; check /proc/sys/kernel/yama/ptrace_scope or run as root");
  }
  // Seized before the exec: the exec is the first thing we see.
  child->open_gate();
  t->threads_[pid] = Thread{};
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, __WALL) < 0) {
      if (errno == EINTR) continue;
      return make_error(fmt::format("lost the new process: {}", std::strerror(errno)), "");
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      auto e = child->exec_errno();
      t->alive_ = false;
      return make_error(e ? fmt::format("cannot run {}: {}", path, std::strerror(*e))
                          : fmt::format("{} exited before it started", path),
                        "check the program path and its permissions");
    }
    if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_EXEC) break;
    if (WIFSTOPPED(status) && (status >> 16) == 0) {
      ptrace(PTRACE_CONT, pid, nullptr, WSTOPSIG(status));  // a signal before exec: pass it on
    } else {
      ptrace(PTRACE_CONT, pid, nullptr, 0);
    }
  }
  t->threads_[pid].stopped = true;
  t->read_entry_address();
  return t;
}

Result<std::unique_ptr<Tracee>> Tracee::attach(pid_t pid, GuardTable* guard) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
    return make_error(fmt::format("no process with pid {}", pid), "check the pid with `ps` or `pgrep`");
  }
  std::unique_ptr<Tracee> t(new Tracee());
  t->pid_ = pid;
  t->guard_ = guard;
  if (guard) guard->attaching(pid);
  // Threads can be created while we attach: list until a pass finds no new one.
  for (bool found_new = true; found_new;) {
    found_new = false;
    for (pid_t tid : list_tasks(pid)) {
      if (t->threads_.count(tid)) continue;
      if (ptrace(PTRACE_SEIZE, tid, nullptr, kSeizeOptions) != 0) {
        int e = errno;
        if (e == ESRCH) continue;  // the thread exited meanwhile
        if (t->threads_.empty()) {
          if (e == EPERM) {
            pid_t other = tracer_of(pid);
            if (other > 0) {
              return make_error(fmt::format("pid {} is already traced by pid {} ({})", pid, other, process_name(other)),
                                "detach that debugger or tracer first; a process can have only one");
            }
            return make_error(fmt::format("not permitted to trace pid {}", pid),
                              "run gorepro as root or as the process's user, and check "
                              "/proc/sys/kernel/yama/ptrace_scope (0 allows attaching)");
          }
          return make_error(fmt::format("cannot attach to pid {}: {}", pid, std::strerror(e)), "");
        }
        (void)t->detach();  // let go of the threads seized so far
        return make_error(fmt::format("cannot attach to thread {} of pid {}: {}", tid, pid, std::strerror(e)), "");
      }
      ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
      t->threads_[tid] = Thread{};
      found_new = true;
    }
  }
  // Wait until every thread reports its stop.
  while (!t->all_stopped()) {
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      t->threads_.erase(tid);
      if (tid == pid) {
        t->alive_ = false;
        return make_error(fmt::format("pid {} exited while gorepro attached", pid), "");
      }
      continue;
    }
    Thread& th = t->threads_[tid];
    th.stopped = true;
    int event = status >> 16;
    if (event == PTRACE_EVENT_CLONE) {
      unsigned long child = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child);
      t->threads_.try_emplace(static_cast<pid_t>(child));
    } else if (event == 0) {
      th.pending_signal = WSTOPSIG(status);  // a signal on its way in: deliver it on resume
    }
  }
  t->read_entry_address();
  return t;
}

Result<std::unique_ptr<Tracee>> Tracee::adopt(pid_t pid, const std::vector<GuardTable::Entry>& bytes,
                                              const std::set<pid_t>& left_in_int3) {
  auto attached = attach(pid);
  if (!attached) return attached;
  Tracee& t = **attached;
  for (const GuardTable::Entry& e : bytes) {
    auto now = t.peek_byte(e.address);
    if (!now || (*now != e.written && *now != e.original)) continue;  // not ours to change
    if (e.written != 0xcc) {
      t.patched_.try_emplace(e.address, e.original);  // the first original wins
      continue;
    }
    if (t.breakpoints_.count(e.address)) continue;
    uint8_t code[16];
    if (!t.read(e.address, code, sizeof code)) continue;
    code[0] = e.original;
    Breakpoint bp;
    bp.address = e.address;
    bp.original = e.original;
    bp.emulator = InstructionEmulator::decode(code, e.address);
    t.breakpoints_[e.address] = std::move(bp);
  }
  for (auto& [tid, th] : t.threads_) {
    if (th.pending_signal == SIGTRAP) {
      if (t.catch_trap(tid)) th.pending_signal = 0;
    } else if (!th.pending_signal && sigtrap_pending(tid)) {
      // It ran into an int3 with no tracer and has not taken the SIGTRAP yet: let it take it
      // into a signal stop, which detach() catches before anything else runs.
      th.stopped = false;
      ptrace(PTRACE_CONT, tid, nullptr, 0);
    } else if (!th.pending_signal) {
      t.put_back(tid, left_in_int3.count(tid) > 0);
    }
  }
  return attached;
}

void Tracee::put_back(pid_t tid, bool left_in_int3) {
  Registers regs;
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs.r) != 0) return;
  auto bp = breakpoints_.find(regs.r.rip - 1);
  // One byte into a longer instruction is only ever our doing; just after a one-byte instruction
  // (a ret) it is when the guardian saw the thread stopped there as the recorder died.
  if (bp != breakpoints_.end() && (left_in_int3 || bp->second.emulator.length() > 1)) {
    regs.r.rip -= 1;
    if (ptrace(PTRACE_SETREGS, tid, nullptr, &regs.r) == 0) threads_put_back_++;
    return;
  }
  if (undo_trap_frame(tid, regs)) frames_undone_++;
}

bool Tracee::undo_trap_frame(pid_t tid, const Registers& at_handler) {
  // At a handler's first instruction RDI holds the signal, RSI its siginfo, RDX the ucontext
  // holding the state the kernel interrupted: ours only for a SIGTRAP from the CPU (SI_KERNEL)
  // that left RIP one past one of our int3s.
  if (at_handler.r.rdi != SIGTRAP) return false;
  siginfo_t si;
  KernelUcontext uc;
  if (!read(at_handler.r.rsi, &si, sizeof si) || si.si_signo != SIGTRAP || si.si_code != SI_KERNEL ||
      !read(at_handler.r.rdx, &uc, sizeof uc) || !breakpoints_.count(uc.mcontext.rip - 1)) {
    return false;
  }
  const KernelSigcontext& sc = uc.mcontext;
  Registers regs = at_handler;  // segment registers and fs/gs bases are not changed by a delivery
  regs.r.r8 = sc.r8, regs.r.r9 = sc.r9, regs.r.r10 = sc.r10, regs.r.r11 = sc.r11;
  regs.r.r12 = sc.r12, regs.r.r13 = sc.r13, regs.r.r14 = sc.r14, regs.r.r15 = sc.r15;
  regs.r.rdi = sc.rdi, regs.r.rsi = sc.rsi, regs.r.rbp = sc.rbp, regs.r.rbx = sc.rbx;
  regs.r.rdx = sc.rdx, regs.r.rax = sc.rax, regs.r.rcx = sc.rcx, regs.r.rsp = sc.rsp;
  regs.r.eflags = sc.eflags;
  regs.r.rip = sc.rip - 1;  // the instruction itself: its original byte is back
  regs.r.orig_rax = static_cast<unsigned long long>(-1);  // not in a system call: nothing to restart
  // The kernel saved the FPU/SSE/AVX state in the frame, in the layout ptrace's XSTATE regset
  // uses, and cleared it for the handler.
  if (sc.fpstate) {
    std::vector<uint8_t> xstate(1 << 16);
    iovec iov{xstate.data(), xstate.size()};
    if (ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) == 0 &&
        read(sc.fpstate, xstate.data(), iov.iov_len)) {
      ptrace(PTRACE_SETREGSET, tid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov);
    }
  }
  ptrace(PTRACE_SETSIGMASK, tid, reinterpret_cast<void*>(sizeof uc.sigmask), &uc.sigmask);
  return ptrace(PTRACE_SETREGS, tid, nullptr, &regs.r) == 0;
}

Tracee::~Tracee() { (void)detach(); }

bool Tracee::all_stopped() const {
  for (const auto& [tid, th] : threads_) {
    if (!th.stopped) return false;
  }
  return true;
}

void Tracee::read_entry_address() { entry_address_ = entry_address_of(pid_); }

bool Tracee::read(uint64_t addr, void* buf, size_t len) const {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  return process_vm_readv(pid_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

std::optional<uint8_t> Tracee::peek_byte(uint64_t addr) {
  // Any stopped thread of the process can be used for PEEK/POKE.
  for (auto& [tid, th] : threads_) {
    if (!th.stopped) continue;
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, tid, reinterpret_cast<void*>(addr), nullptr);
    if (errno != 0) return std::nullopt;
    return static_cast<uint8_t>(word & 0xff);
  }
  return std::nullopt;
}

Status Tracee::poke_byte(uint64_t addr, uint8_t value) {
  int err = ESRCH;
  for (auto& [tid, th] : threads_) {
    if (!th.stopped) continue;
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, tid, reinterpret_cast<void*>(addr), nullptr);
    if (errno == 0) {
      word = (word & ~0xffL) | value;
      if (ptrace(PTRACE_POKEDATA, tid, reinterpret_cast<void*>(addr), reinterpret_cast<void*>(word)) == 0) return Ok{};
    }
    err = errno;
    if (err != ESRCH) break;
    // This thread has left its stop since we collected it: the process's exit_group kills every
    // thread, ptrace stops included. Another thread may still be held.
  }
  if (err == ESRCH) exiting_ = true;
  return make_error(fmt::format("cannot write to the target's code at {:#x}: {}", addr, std::strerror(err)), "");
}

Status Tracee::write_byte(uint64_t address, uint8_t original, uint8_t value) {
  if (guard_) {
    if (auto st = guard_->will_write(address, original, value); !st) return st;
  }
  return poke_byte(address, value);
}

Status Tracee::patch(uint64_t address, const std::vector<uint8_t>& bytes) {
  for (size_t i = 0; i < bytes.size(); i++) {
    uint64_t a = address + i;
    GOREPRO_CHECK(!breakpoints_.count(a), "patching over a breakpoint");
    auto original = peek_byte(a);
    if (!original) return make_error(fmt::format("cannot read the target's memory at {:#x}", a), "");
    if (auto st = write_byte(a, *original, bytes[i]); !st) return st;
    patched_.try_emplace(a, *original);  // the first original wins if patched twice
  }
  return Ok{};
}

Status Tracee::set_breakpoint_armed(uint64_t address, bool armed) {
  auto it = breakpoints_.find(address);
  GOREPRO_CHECK(it != breakpoints_.end(), "arming a breakpoint that was never inserted");
  return poke_byte(address, armed ? 0xcc : it->second.original);
}

Status Tracee::insert_breakpoint(uint64_t address, int id) {
  if (breakpoints_.count(address)) return Ok{};
  uint8_t code[16];
  if (!read(address, code, sizeof code)) {
    return make_error(fmt::format("cannot read the target's code at {:#x}", address),
                      "the binary on disk may differ from the running one");
  }
  auto original = peek_byte(address);
  if (!original) return make_error(fmt::format("cannot read the target's code at {:#x}", address), "");
  Breakpoint bp;
  bp.address = address;
  bp.original = *original;
  bp.id = id;
  bp.emulator = InstructionEmulator::decode(code, address);
  auto st = write_byte(address, *original, 0xcc);
  if (!st) return st;
  breakpoints_[address] = std::move(bp);
  return Ok{};
}

void Tracee::cont(pid_t tid, int sig) {
  auto it = threads_.find(tid);
  if (ptrace(PTRACE_CONT, tid, nullptr, sig) != 0 && errno == ESRCH) {
    // The thread died while stopped (e.g. the process is exiting); its exit is reported later.
  }
  if (it != threads_.end()) {
    it->second.stopped = false;
    it->second.pending_signal = 0;
    it->second.moved_past = false;
    it->second.trapped = false;
  }
}

Status Tracee::stop_at_exit() {
  for (auto& [tid, th] : threads_) {
    if (ptrace(PTRACE_SETOPTIONS, tid, nullptr, kSeizeOptions | PTRACE_O_TRACEEXIT | (launched_ ? PTRACE_O_EXITKILL : 0)) !=
            0 &&
        errno != ESRCH) {
      return make_error(fmt::format("cannot ask to stop at the program's exit: {}", std::strerror(errno)), "");
    }
  }
  stop_at_exit_ = true;
  return Ok{};
}

std::vector<std::pair<pid_t, Registers>> Tracee::stopped_registers() const {
  std::vector<std::pair<pid_t, Registers>> out;
  for (const auto& [tid, th] : threads_) {
    Registers regs;
    if (th.stopped && ptrace(PTRACE_GETREGS, tid, nullptr, &regs.r) == 0) out.emplace_back(tid, regs);
  }
  return out;
}

void Tracee::resume_all() {
  for (auto& [tid, th] : threads_) {
    if (th.stopped) cont(tid, th.pending_signal);
  }
}

bool Tracee::handle_internal(pid_t tid, int status, Stop* out) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    threads_.erase(tid);
    if (tid != pid_) return true;
    *out = record_exit(tid, status);
    return false;
  }
  if (!WIFSTOPPED(status)) return true;
  Thread& th = threads_[tid];
  th.stopped = true;
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  switch (event) {
    case PTRACE_EVENT_CLONE: {
      unsigned long child = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child);
      threads_.try_emplace(static_cast<pid_t>(child));
      cont(tid, 0);
      return true;
    }
    case PTRACE_EVENT_EXEC: {
      exit_regs_.clear();  // the other threads' deaths in exec, not an exit
      // The old image is gone, and with it our breakpoints and patches — their addresses may
      // now hold the new program's code, which detach must not "restore" — and every thread but
      // the one that exec'd, which now has the leader's tid.
      breakpoints_.clear();
      patched_.clear();
      if (guard_) guard_->forget_bytes();
      threads_.clear();
      threads_[tid].stopped = true;
      out->kind = Stop::Kind::kExec;
      out->tid = tid;
      return false;
    }
    case PTRACE_EVENT_EXIT: {
      // stop_at_exit: the thread that called exit_group is reported, memory intact (its own mm
      // holds the address space: read it by its tid), with the registers of the goroutine that
      // ended the program and those of every other thread (exit_registers): a goroutine running
      // on another thread when the program exits is scanned from its own SP. Every other
      // thread goes on. A death by signal is not reported; nor is a lone thread's exit(2).
      Registers regs;
      const bool have = ptrace(PTRACE_GETREGS, tid, nullptr, &regs.r) == 0;
      if (stop_at_exit_ && !exit_reported_ && have && regs.r.orig_rax != SYS_exit) {
        exit_regs_[tid] = regs;
        if (!gathering_ && regs.r.orig_rax == SYS_exit_group) {
          gather_exits(tid);
          exit_reported_ = true;
          out->kind = Stop::Kind::kExiting;
          out->tid = tid;
          out->regs = regs;
          return false;
        }
      }
      cont(tid, 0);
      return true;
    }
    case PTRACE_EVENT_STOP:
      if (is_group_stop_signal(sig)) {
        // Group-stop: keep the thread stopped until SIGCONT, as without a tracer.
        ptrace(PTRACE_LISTEN, tid, nullptr, nullptr);
        th.stopped = false;
      } else {
        cont(tid, 0);  // a new thread's first stop, or a stale interrupt
      }
      return true;
    default:
      break;
  }
  if (sig == SIGTRAP) {
    // Our int3 leaves RIP one past a breakpoint address. That alone identifies it (a SIGTRAP
    // sent by another process would have to arrive exactly there), which saves a
    // PTRACE_GETSIGINFO per hit.
    Registers regs;
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs.r) == 0) {
      auto it = breakpoints_.find(regs.r.rip - 1);
      if (it != breakpoints_.end()) {
        regs.r.rip -= 1;
        // Moved off the int3 when resumed, not here: moving it before the hit is decoded made
        // the schedtrace oracle disagree with the runtime on ~6% of goroutines (Go 1.19
        // noleak: 0.94 agreement against 1.00). A death of gorepro meanwhile leaves the thread
        // one byte into the instruction; the guardian puts such threads back (adopt()).
        th.trapped = true;
        th.moved_past = false;
        out->kind = Stop::Kind::kBreakpoint;
        out->tid = tid;
        out->id = it->second.id;
        out->regs = regs;
        return false;
      }
    }
  }
  cont(tid, sig);  // every other signal reaches the target unchanged
  return true;
}

Stop Tracee::record_exit(pid_t tid, int status) {
  alive_ = false;
  if (guard_) guard_->let_go();  // nothing of ours is left in a process that is gone
  Stop s;
  s.kind = Stop::Kind::kExited;
  s.tid = tid;
  if (WIFEXITED(status)) {
    s.exit_status = WEXITSTATUS(status);
  } else {
    s.signal = WTERMSIG(status);
    s.exit_status = 128 + s.signal;
  }
  exit_stop_ = s;
  return s;
}

void Tracee::gather_exits(pid_t exiting) {
  gathering_ = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (const auto& [t, th] : threads_) {
      if (t != exiting && !exit_regs_.count(t)) all = false;
    }
    if (all) break;
    int status = 0;
    const pid_t t = waitpid(-1, &status, __WALL | WNOHANG);
    if (t == 0 || (t < 0 && errno == EINTR)) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    if (t < 0) break;
    Stop s;
    if (handle_internal(t, status, &s)) continue;
    // A stop for the caller while the process dies (the leader's end cannot come while this
    // thread is held; a breakpoint is not taken with SIGKILL pending): the exit is kept, the
    // rest let go.
    if (s.kind == Stop::Kind::kExited) {
      pending_stop_ = s;
      break;
    }
    if (s.tid) cont(s.tid, 0);
  }
  gathering_ = false;
}

Stop Tracee::wait() {
  if (pending_stop_) {
    Stop s = *pending_stop_;
    pending_stop_.reset();
    return s;
  }
  Stop s;
  while (true) {
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR) {
        s.kind = Stop::Kind::kInterrupted;
        return s;
      }
      alive_ = false;  // ECHILD: nothing left to wait for
      if (exit_stop_) return *exit_stop_;
      s.kind = Stop::Kind::kExited;
      return s;
    }
    if (!handle_internal(tid, status, &s)) return s;
  }
}

Status Tracee::step_over_unemulated(pid_t tid, const Breakpoint& bp) {
  // Lift the breakpoint for one single-step (the thread is back at the instruction since its
  // stop was collected). Another thread passing here meanwhile is not seen: only instructions
  // the emulator does not know take this path.
  if (auto st = poke_byte(bp.address, bp.original); !st) {
    // An exiting process (it is usually why the emulator could not read memory): nothing to
    // step over; the next wait() reports the exit.
    if (exiting_) return Ok{};
    return st;
  }
  ptrace(PTRACE_SINGLESTEP, tid, nullptr, 0);
  int status = 0;
  while (waitpid(tid, &status, __WALL) < 0 && errno == EINTR) {
  }
  if (!WIFSTOPPED(status) || (status >> 16) == PTRACE_EVENT_EXIT) {
    // The thread ended during the step, or stopped at its exit: the process is exiting (this
    // path is usually taken because its memory could no longer be read). The exit stop is
    // handled as any other (its registers kept for the verdicts, kExiting if it called
    // exit_group); the exit is kept for the next wait() — it may be the process's exit status
    // — and the int3 put back only if some thread can still run.
    Stop stop;
    if (!handle_internal(tid, status, &stop)) pending_stop_ = stop;
    (void)poke_byte(bp.address, 0xcc);
    return Ok{};
  }
  unemulated_steps_++;  // a step that ran with the breakpoint lifted while the process lived
  Status st = poke_byte(bp.address, 0xcc);
  cont(tid, WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status));
  return st;
}

bool Tracee::breakpoint_branches(const Stop& stop) const {
  auto it = breakpoints_.find(stop.regs.r.rip);
  return it != breakpoints_.end() && it->second.emulator.is_conditional_jump() &&
         it->second.emulator.branch_taken(stop.regs);
}

bool Tracee::move_past(pid_t tid, const Registers& at, const Breakpoint& bp) {
  // Done before the hit is decoded, so the window in which gorepro's death would leave this
  // thread one byte into an instruction is two system calls long, not a whole decode: a
  // collected stop is released by the kernel without its SIGTRAP and resumes at whatever
  // registers it holds.
  Registers regs = at;
  auto read_word = [this](uint64_t addr, uint64_t* out) { return read_u64(addr, out); };
  const bool emulated = bp.emulator.supported() && bp.emulator.apply(regs, read_word);
  if (!emulated) regs = at;  // back at the instruction: resumed by a single-step
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &regs.r) != 0) return false;  // it died meanwhile
  return emulated;
}

Status Tracee::resume_from_breakpoint(const Stop& stop) {
  auto it = breakpoints_.find(stop.regs.r.rip);
  GOREPRO_CHECK(it != breakpoints_.end(), "resume_from_breakpoint without a breakpoint");
  auto th = threads_.find(stop.tid);
  if (th == threads_.end()) return Ok{};  // died while stopped
  if (th->second.trapped) {
    th->second.trapped = false;
    th->second.moved_past = move_past(stop.tid, stop.regs, it->second);
  }
  if (th->second.moved_past) {
    cont(stop.tid, 0);
    return Ok{};
  }
  return step_over_unemulated(stop.tid, it->second);
}

std::optional<Stop> Tracee::catch_trap(pid_t tid) {
  siginfo_t si;
  Stop hit;
  if (ptrace(PTRACE_GETSIGINFO, tid, nullptr, &si) != 0 || si.si_code != SI_KERNEL ||
      ptrace(PTRACE_GETREGS, tid, nullptr, &hit.regs.r) != 0) {
    return std::nullopt;
  }
  auto it = breakpoints_.find(hit.regs.r.rip - 1);
  if (it == breakpoints_.end()) return std::nullopt;
  hit.kind = Stop::Kind::kBreakpoint;
  hit.tid = tid;
  hit.id = it->second.id;
  hit.regs.r.rip -= 1;
  threads_[tid].moved_past = move_past(tid, hit.regs, it->second);
  traps_caught_++;
  return hit;
}

Stop Tracee::kill_and_wait() {
  if (alive_) kill(pid_, SIGKILL);
  while (alive_) {
    Stop s = wait();
    if (s.kind == Stop::Kind::kExited) return s;
    if (s.kind == Stop::Kind::kBreakpoint || s.kind == Stop::Kind::kExiting) cont(s.tid, 0);
  }
  if (exit_stop_) return *exit_stop_;
  Stop exited;
  exited.kind = Stop::Kind::kExited;
  return exited;
}

Result<std::vector<Stop>> Tracee::stop_all() {
  std::vector<Stop> hits;
  for (auto& [tid, th] : threads_) {
    if (!th.stopped) ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
  }
  while (!all_stopped()) {
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR) continue;
      alive_ = false;
      return make_error("the program is gone", "");
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      threads_.erase(tid);
      if (tid == pid_) {
        record_exit(tid, status);
        return make_error("the program exited while gorepro stopped it", "");
      }
      continue;
    }
    Thread& th = threads_[tid];
    th.stopped = true;
    const int event = status >> 16;
    const int sig = WSTOPSIG(status);
    if (event == PTRACE_EVENT_CLONE) {
      unsigned long child = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child);
      threads_.try_emplace(static_cast<pid_t>(child));  // it reports its own first stop
    } else if (event == 0 && sig == SIGTRAP) {
      // Our trap is never delivered: the thread is moved past the instruction (or back to it,
      // to re-execute it once resumed or once the original byte is back), and its hit returned.
      if (auto hit = catch_trap(tid)) {
        hits.push_back(*hit);
        continue;
      }
      th.pending_signal = sig;
    } else if (event == 0) {
      th.pending_signal = sig;  // on its way in: delivered when the thread is resumed or let go
    } else if (event == PTRACE_EVENT_STOP && sigtrap_pending(tid)) {
      // It executed one of our int3s just as we interrupted it: the kernel reports the
      // interrupt before it dequeues the trap's SIGTRAP, which would otherwise reach the
      // program after we let go and kill it. Let it run into that SIGTRAP stop (it dequeues
      // the signal before executing anything), which the SI_KERNEL case above catches.
      th.stopped = false;
      ptrace(PTRACE_CONT, tid, nullptr, 0);
    }
  }
  return hits;
}

Status Tracee::detach() {
  Status st = detach_threads();
  // A byte that could not be put back stays in the guard: the guardian tries again once this
  // recorder has exited.
  if (guard_ && st.ok()) guard_->let_go();
  return st;
}

Status Tracee::detach_threads() {
  if (detached_ || !alive_) {
    detached_ = true;
    return Ok{};
  }
  detached_ = true;
  // 1. Stop every running thread. Threads stopped on one of our int3s (their hits are not
  // decoded: we are leaving) are moved past it, or back to it.
  if (!stop_all()) return Ok{};  // the process is gone
  // Threads whose int3 stop was collected but never resumed are moved now, while the
  // breakpoints (and their emulators) are still known.
  for (auto& [tid, th] : threads_) {
    if (!th.trapped) continue;
    th.trapped = false;
    Registers regs;
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs.r) != 0) continue;
    if (auto it = breakpoints_.find(regs.r.rip - 1); it != breakpoints_.end()) {
      regs.r.rip -= 1;
      th.moved_past = move_past(tid, regs, it->second);
    }
  }
  // 2. Put back every original byte.
  Status result = Ok{};
  // A process in exit_group keeps none of its code: nothing is left to restore.
  for (auto& [addr, bp] : breakpoints_) {
    if (auto st = poke_byte(addr, bp.original); !st && result && !exiting_) result = st;
  }
  for (auto& [addr, original] : patched_) {
    if (auto st = poke_byte(addr, original); !st && result && !exiting_) result = st;
  }
  patched_.clear();
  breakpoints_.clear();
  // 3. Let go, handing over any signal that was on its way in.
  for (auto& [tid, th] : threads_) {
    ptrace(PTRACE_DETACH, tid, nullptr, th.pending_signal);
  }
  threads_.clear();
  return result;
}

}  // namespace gorepro::tracer
