// TargetMemory: read access to a traced Go process's address space, whatever holds it — a
// ptrace Tracee, a gdb child answering -data-read-memory-bytes, or plain process_vm_readv on a
// process nobody stops (eBPF's preexisting goroutines, snapshots). Code that decodes the
// runtime's structures (events, goroutine lists, heap scans) reads through this view only, so
// it works under every backend.
//
// Invariants: read() fills all `len` bytes or returns false (never a partial read); addresses
// are run-time addresses (PIE load bias included); nothing here writes to the target.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace gorepro {

// One of many reads asked for at once (TargetMemory::read_many).
struct ReadRange {
  uint64_t addr;
  void* buf;
  size_t len;
};

class TargetMemory {
 public:
  virtual ~TargetMemory() = default;
  virtual bool read(uint64_t addr, void* buf, size_t len) const = 0;
  // Reads every range; a range that cannot be read is zero-filled. Returns how many could not.
  // One read per range here; a view that can batch them (ProcessMemory) does.
  virtual size_t read_many(std::span<const ReadRange> ranges) const {
    size_t failed = 0;
    for (const ReadRange& r : ranges) {
      if (!read(r.addr, r.buf, r.len)) {
        std::memset(r.buf, 0, r.len);
        failed++;
      }
    }
    return failed;
  }
  bool read_u64(uint64_t addr, uint64_t* out) const { return read(addr, out, 8); }
  virtual pid_t pid() const = 0;
  // Whether two threads may read at once (read, read_many): a view that keeps state between
  // reads (a cache, a gdb connection) says no, and its reader reads from one thread only.
  virtual bool concurrent_reads() const { return false; }
};

// A process's memory through process_vm_readv: one system call per read; the caller needs
// ptrace-attach permission on the process (root, or same user with yama's ptrace_scope 0).
class ProcessMemory final : public TargetMemory {
 public:
  explicit ProcessMemory(pid_t pid) : pid_(pid) {}
  bool read(uint64_t addr, void* buf, size_t len) const override {
    if (len == 0) return true;
    iovec local{buf, len};
    iovec remote{reinterpret_cast<void*>(addr), len};
    return process_vm_readv(pid_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
  }
  // Up to kBatch ranges per process_vm_readv: reading 100 000 goroutines' g structs is ~100
  // system calls, not 100 000. The kernel stops a batch at the first unreadable range; that
  // one is retried alone (and zero-filled if it fails) and the batch goes on after it.
  size_t read_many(std::span<const ReadRange> ranges) const override {
    constexpr size_t kBatch = 1024;  // IOV_MAX
    iovec local[kBatch], remote[kBatch];
    size_t failed = 0, i = 0;
    while (i < ranges.size()) {
      const size_t n = std::min(kBatch, ranges.size() - i);
      size_t want = 0;
      for (size_t k = 0; k < n; k++) {
        local[k] = {ranges[i + k].buf, ranges[i + k].len};
        remote[k] = {reinterpret_cast<void*>(ranges[i + k].addr), ranges[i + k].len};
        want += ranges[i + k].len;
      }
      ssize_t got = process_vm_readv(pid_, local, n, remote, n, 0);
      if (got == static_cast<ssize_t>(want)) {
        i += n;
        continue;
      }
      size_t done = got > 0 ? static_cast<size_t>(got) : 0;  // whole ranges read before the failure
      size_t k = 0;
      while (k < n && done >= ranges[i + k].len) done -= ranges[i + k++].len;
      i += k;
      if (i < ranges.size()) {  // the range the kernel stopped at, alone
        if (!read(ranges[i].addr, ranges[i].buf, ranges[i].len)) {
          std::memset(ranges[i].buf, 0, ranges[i].len);
          failed++;
        }
        i++;
      }
    }
    return failed;
  }
  pid_t pid() const override { return pid_; }
  bool concurrent_reads() const override { return true; }  // no state: one system call a read

 private:
  pid_t pid_;
};

}  // namespace gorepro
