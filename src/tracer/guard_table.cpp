#include "tracer/guard_table.h"

#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include <fmt/format.h>

namespace gorepro::tracer {

namespace {

// Probes place a few dozen int3s and patches a few bytes; room for far more.
constexpr uint32_t kCapacity = 8192;

enum State : uint32_t { kIdle = 0, kAttached = 1, kLetGo = 2 };

struct ProcessStat {
  char state = 0;           // 0: no such process
  uint64_t start_time = 0;  // clock ticks after boot: tells a reused pid apart
};

ProcessStat stat_of(pid_t pid) {
  ProcessStat st;
  FILE* f = std::fopen(fmt::format("/proc/{}/stat", pid).c_str(), "re");
  if (!f) return st;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name may hold spaces and parentheses: fields resume after its last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p) return st;
  char state = 0;
  unsigned long long start = 0;
  // state is field 3; starttime is field 22, the 19th after state.
  if (std::sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu", &state,
                  &start) == 2) {
    st.state = state;
    st.start_time = start;
  }
  return st;
}

}  // namespace

// Lock-free atomics work across processes on shared memory; release stores order an entry
// before the count that publishes it, and both before the write into the program.
struct GuardTable::Shared {
  std::atomic<uint32_t> state{kIdle};
  std::atomic<uint32_t> count{0};
  std::atomic<uint64_t> generation{0};
  std::atomic<int32_t> pid{0};
  std::atomic<uint64_t> start_time{0};
  Entry entries[kCapacity];
};

Result<std::unique_ptr<GuardTable>> GuardTable::create() {
  void* p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return make_error(fmt::format("cannot map the guardian's table: {}", std::strerror(errno)), "");
  }
  return std::unique_ptr<GuardTable>(new GuardTable(new (p) Shared()));
}

GuardTable::~GuardTable() {
  s_->~Shared();
  munmap(s_, sizeof(Shared));
}

void GuardTable::attaching(pid_t pid) {
  s_->count.store(0, std::memory_order_release);
  s_->pid.store(pid, std::memory_order_release);
  s_->start_time.store(stat_of(pid).start_time, std::memory_order_release);
  s_->state.store(kAttached, std::memory_order_release);
  s_->generation.fetch_add(1, std::memory_order_release);
}

Status GuardTable::will_write(uint64_t address, uint8_t original, uint8_t written) {
  const uint32_t n = s_->count.load(std::memory_order_relaxed);
  if (n == kCapacity) {
    return make_error(fmt::format("more than {} bytes to change in the program; the guardian cannot keep them all",
                                  kCapacity),
                      "record fewer probes");
  }
  s_->entries[n] = Entry{address, original, written};
  s_->count.store(n + 1, std::memory_order_release);
  s_->generation.fetch_add(1, std::memory_order_release);
  return Ok{};
}

void GuardTable::forget_bytes() {
  s_->count.store(0, std::memory_order_release);
  s_->generation.fetch_add(1, std::memory_order_release);
}

void GuardTable::let_go() {
  s_->state.store(kLetGo, std::memory_order_release);
  s_->generation.fetch_add(1, std::memory_order_release);
}

pid_t GuardTable::pid() const { return s_->pid.load(std::memory_order_acquire); }

bool GuardTable::program_running() const {
  const ProcessStat st = stat_of(pid());
  return st.state != 0 && st.state != 'Z' && st.state != 'X' &&
         st.start_time == s_->start_time.load(std::memory_order_acquire);
}

bool GuardTable::holds_bytes() const {
  return s_->state.load(std::memory_order_acquire) == kAttached && s_->count.load(std::memory_order_acquire) > 0;
}

std::vector<GuardTable::Entry> GuardTable::entries() const {
  const uint32_t n = s_->count.load(std::memory_order_acquire);
  return std::vector<Entry>(s_->entries, s_->entries + n);
}

uint64_t GuardTable::generation() const { return s_->generation.load(std::memory_order_acquire); }

}  // namespace gorepro::tracer
