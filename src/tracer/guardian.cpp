#include "tracer/guardian.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "tracer/backend.h"  // monotonic_ns
#include "tracer/tracee.h"

namespace gorepro::tracer {

namespace {

volatile sig_atomic_t g_recorder = 0;

// The supervisor keeps nothing of these for itself: the recorder decides (stop, dump, ...).
constexpr int kPassedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};

void pass_on(int sig) {
  if (g_recorder > 0) kill(g_recorder, sig);
}

// Undoes the recorder's writes last-first, each only where the program still holds the
// recorder's byte: a byte entered but never written, or already put back, is left alone.
// Returns how many bytes of the recorder's it could not write back.
size_t write_back(const GuardTable& table, int mem, GuardedRun& run) {
  const std::vector<GuardTable::Entry> entries = table.entries();
  size_t left = 0;
  for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
    uint8_t now = 0;
    if (mem < 0 || pread(mem, &now, 1, static_cast<off_t>(e->address)) != 1) {
      left++;
    } else if (now == e->original) {
      run.bytes_already++;
    } else if (now == e->written) {
      if (pwrite(mem, &e->original, 1, static_cast<off_t>(e->address)) == 1) {
        run.bytes_restored++;
      } else {
        left++;
      }
    }
  }
  return left;
}

std::vector<pid_t> threads_of(pid_t pid) {
  std::vector<pid_t> out;
  if (DIR* d = opendir(fmt::format("/proc/{}/task", pid).c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
    }
    closedir(d);
  }
  return out;
}

// A thread's scheduler state letter, and the status its tracer has not collected yet (field 52
// of /proc/.../stat: 0 once collected), or state 0.
std::pair<char, int> state_of(pid_t pid, pid_t tid) {
  std::ifstream in(fmt::format("/proc/{}/task/{}/stat", pid, tid));
  std::string stat;
  std::getline(in, stat);
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return {0, 0};
  std::istringstream fields(stat.substr(paren + 2));
  char state = 0;
  fields >> state;
  std::string f;
  for (int i = 4; i <= 52 && (fields >> f); i++) {
  }
  return {state, std::atoi(f.c_str())};
}

// Where a stopped thread is: the last field of /proc/.../syscall ("-1 SP PC" outside a system call).
uint64_t pc_of(pid_t pid, pid_t tid) {
  std::ifstream in(fmt::format("/proc/{}/task/{}/syscall", pid, tid));
  std::string line;
  std::getline(in, line);
  const auto space = line.rfind(' ');
  return space == std::string::npos ? 0 : std::strtoull(line.c_str() + space + 1, nullptr, 16);
}

// With the dying recorder still holding the program's threads: the ones it leaves in one of its
// int3 stops. The kernel will let them go at once — one whose stop it collected (the stop's
// status, field 52 of /proc/.../stat, reads 0) runs on from one byte into the instruction, one
// whose stop it did not takes the SIGTRAP into the program's handler — unless each has a SIGSTOP
// waiting: then it stops before running any of the program's code, where the guardian can put
// it back (Tracee::adopt). The cost is a stop and a SIGCONT the program's parent may notice;
// without them, the program dies. Returns the threads left in a collected stop; sets run.froze.
std::set<pid_t> freeze_if_caught(const GuardTable& table, GuardedRun& run) {
  std::set<uint64_t> traps;
  for (const GuardTable::Entry& e : table.entries()) {
    if (e.written == 0xcc) traps.insert(e.address);
  }
  const std::vector<pid_t> threads = threads_of(table.pid());
  std::set<pid_t> collected;
  for (pid_t tid : threads) {
    const auto [state, status] = state_of(table.pid(), tid);
    if (state != 't' || !traps.count(pc_of(table.pid(), tid) - 1)) continue;
    run.froze = true;
    if (status == 0) collected.insert(tid);
  }
  if (run.froze) {
    for (pid_t tid : threads) syscall(SYS_tgkill, table.pid(), tid, SIGSTOP);
  }
  return collected;
}

// Until every thread of pid is in a signal stop (or gone), at most `limit_ms`.
void wait_stopped(pid_t pid, int limit_ms) {
  for (int i = 0; i < limit_ms; i++) {
    bool all = true;
    for (pid_t tid : threads_of(pid)) all = all && state_of(pid, tid).first == 'T';
    if (all) return;
    usleep(1000);
  }
}

// The program's threads are free of the dead recorder: take them over to put back any it left in
// an int3, put back what write_back could not (/proc/PID/mem may refuse writes to code from a
// process that does not trace it), let go, and let the program run again if it was frozen.
void adopt_and_detach(const GuardTable& table, size_t left, const std::set<pid_t>& left_in_int3, GuardedRun& run) {
  if (run.froze) wait_stopped(table.pid(), 2000);
  if (table.program_running()) {
    auto adopted = Tracee::adopt(table.pid(), table.entries(), left_in_int3);
    if (!adopted) {
      run.rescue_error = adopted.error().message();
    } else if (Status st = (*adopted)->detach(); !st) {
      run.rescue_error = st.error().message();
    } else {
      run.bytes_restored += left;  // detach() wrote whatever write_back could not
    }
    if (adopted) {
      run.traps_caught = (*adopted)->traps_caught();
      run.threads_put_back = (*adopted)->threads_put_back() + (*adopted)->frames_undone();
      run.frames_undone = (*adopted)->frames_undone();
    }
  }
  if (run.froze) kill(table.pid(), SIGCONT);
  // A program that took a SIGTRAP is dying, printing its goroutines: give it the time to be seen.
  for (int i = 0; i < 20 && table.program_running(); i++) usleep(5000);
  run.program_alive = table.program_running();
}

// Waits for the recorder to end, passing its own signals through while it is traced; calls
// `dying` once, as early as the supervisor can tell the recorder is going. Returns its wait
// status.
int watch(pid_t recorder, bool traced, int lifeline, const std::function<void()>& dying) {
  int status = 0;
  if (!traced) {
    // Its end of the pipe closes when it exits, however it dies: after its memory is gone, just
    // before the kernel releases the program's threads from it (this wake-up races with that).
    char c;
    while (::read(lifeline, &c, 1) < 0 && errno == EINTR) {
    }
    dying();
    while (waitpid(recorder, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  }
  bool told = false;
  while (true) {
    if (waitpid(recorder, &status, __WALL) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (!WIFSTOPPED(status)) break;  // gone
    const int event = status >> 16;
    const int sig = WSTOPSIG(status);
    if (event == PTRACE_EVENT_EXIT) {
      // The very start of its death, whatever the cause (SIGKILL included): it holds on to the
      // program's threads until we let it go on.
      if (!told) dying();
      told = true;
      ptrace(PTRACE_CONT, recorder, nullptr, 0);
    } else if (event == PTRACE_EVENT_STOP && (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)) {
      ptrace(PTRACE_LISTEN, recorder, nullptr, nullptr);  // stopped by a signal: stays stopped, as untraced
    } else {
      ptrace(PTRACE_CONT, recorder, nullptr, event == 0 ? sig : 0);  // its signals reach it unchanged
    }
  }
  if (!told) dying();
  return status;
}

}  // namespace

Result<GuardedRun> run_guarded(pid_t pid, GuardTable& table, const std::function<int()>& record) {
  // Opened before anything is attached: it keeps pointing at this program's memory, never at a
  // process that later reuses the pid. Failure is not fatal: the rescue then writes by ptrace.
  const int mem = ::open(fmt::format("/proc/{}/mem", pid).c_str(), O_RDWR | O_CLOEXEC);
  // go: the recorder starts once the supervisor watches it. lifeline: the recorder holds the
  // only write end, which closes when it exits — how it is watched when it cannot be traced.
  int go[2], lifeline[2];
  if (pipe2(go, O_CLOEXEC) != 0) {
    if (mem >= 0) ::close(mem);
    return make_error(fmt::format("cannot create a pipe: {}", std::strerror(errno)), "");
  }
  if (pipe2(lifeline, O_CLOEXEC) != 0) {
    if (mem >= 0) ::close(mem);
    ::close(go[0]);
    ::close(go[1]);
    return make_error(fmt::format("cannot create a pipe: {}", std::strerror(errno)), "");
  }
  const pid_t supervisor = getpid();
  std::fflush(nullptr);  // nothing buffered may be written twice
  const pid_t recorder = fork();
  if (recorder < 0) {
    const int e = errno;
    for (int fd : {mem, go[0], go[1], lifeline[0], lifeline[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return make_error(fmt::format("cannot start the recording process: {}", std::strerror(e)), "");
  }
  if (recorder == 0) {
    ::close(go[1]);
    ::close(lifeline[0]);
    if (mem >= 0) ::close(mem);
    // A process group of its own: a signal to the user's (Ctrl-C, `timeout -s KILL`, kill -PGID)
    // misses it; the supervisor passes on what it gets. Not a session of its own: the scheduler
    // would make it a group of its own (autogroup) and, on a busy machine, wake it late for every
    // probe hit (measured: 3-5x slower). In a background group, a write to the terminal with
    // TOSTOP set would stop it: SIGTTOU is ignored, as daemons do.
    setpgid(0, 0);
    signal(SIGTTOU, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    char c;
    // The supervisor died before it could tell us or start watching: attach nothing.
    if (getppid() != supervisor || ::read(go[0], &c, 1) != 1) _exit(1);
    ::close(go[0]);
    // The kernel sends a tracer SIGCHLD at every stop of its tracees — every probe hit. Untraced,
    // an ignored signal is dropped when sent; traced (by the guardian), each would stop the
    // recorder for a round trip through the supervisor. SA_NOCLDSTOP: no SIGCHLD for stops (wait
    // still wakes up).
    struct sigaction no_stop_notes = {};
    no_stop_notes.sa_handler = SIG_DFL;
    no_stop_notes.sa_flags = SA_NOCLDSTOP;
    sigemptyset(&no_stop_notes.sa_mask);
    sigaction(SIGCHLD, &no_stop_notes, nullptr);
    const int code = record();
    std::fflush(nullptr);
    _exit(code);
  }
  ::close(go[0]);
  ::close(lifeline[1]);

  GuardedRun run;
  run.recorder = recorder;
  g_recorder = recorder;
  struct sigaction sa = {};
  sa.sa_handler = pass_on;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  struct sigaction old[std::size(kPassedSignals)];
  for (size_t i = 0; i < std::size(kPassedSignals); i++) sigaction(kPassedSignals[i], &sa, &old[i]);

  // Traced for one event, its exit: the kernel stops it there at once, before it lets go of the
  // program's threads, where the pipe closes only once its memory is gone (hundreds of µs
  // later, docs/tracer-death.md). Someone else tracing it (strace -f) leaves the pipe.
  const bool traced = ptrace(PTRACE_SEIZE, recorder, nullptr, PTRACE_O_TRACEEXIT) == 0;
  (void)!::write(go[1], "g", 1);
  ::close(go[1]);

  size_t left = 0;
  std::set<pid_t> left_in_int3;
  const int status = watch(recorder, traced, lifeline[0], [&] {
    // If it still held bytes, put them back now: every hit after this is on the original code.
    if (!table.holds_bytes()) return;
    const uint64_t woke = monotonic_ns();
    run.rescued = true;
    left = write_back(table, mem, run);
    run.write_back_us = (monotonic_ns() - woke) / 1000;
    left_in_int3 = freeze_if_caught(table, run);
  });
  for (size_t i = 0; i < std::size(kPassedSignals); i++) sigaction(kPassedSignals[i], &old[i], nullptr);
  g_recorder = 0;
  if (WIFSIGNALED(status)) {
    run.killed_by = WTERMSIG(status);
    run.exit_code = 128 + run.killed_by;
  } else {
    run.exit_code = WEXITSTATUS(status);
  }
  if (run.rescued) adopt_and_detach(table, left, left_in_int3, run);
  ::close(lifeline[0]);
  if (mem >= 0) ::close(mem);
  return run;
}

}  // namespace gorepro::tracer
