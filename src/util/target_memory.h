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

#include <cstddef>
#include <cstdint>

namespace gorepro {

class TargetMemory {
 public:
  virtual ~TargetMemory() = default;
  virtual bool read(uint64_t addr, void* buf, size_t len) const = 0;
  bool read_u64(uint64_t addr, uint64_t* out) const { return read(addr, out, 8); }
  virtual pid_t pid() const = 0;
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
  pid_t pid() const override { return pid_; }

 private:
  pid_t pid_;
};

}  // namespace gorepro
