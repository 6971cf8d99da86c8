// ProbeProgram: gorepro's BPF object (bpf/gorepro.bpf.c) in the kernel, for one Go binary —
// opened from the generated skeleton, configured from the binary's ProbeLayout (read-only
// data, set before load, so the verifier sees constants), loaded with only the programs of the
// chosen probe roles, attached as uprobes at exactly the addresses src/dwarf chose, and read
// back through its ring buffer and counters.
//
// Lifecycle (libbpf-tools' open → configure → load → attach → poll → destroy): load(), then
// attach() once per binary path/pid, then poll()/drain() until done; destruction detaches every
// uprobe and frees the object. Every bpf_link is owned here and lives until then; if gorepro
// dies instead, the kernel drops the links with its file descriptors and the target runs on
// unprobed (nothing was written into it). Not thread-safe: one thread drives it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bpf/bpf_environment.h"
#include "dwarf/go_binary.h"
#include "dwarf/probe_layout.h"
#include "gorepro_record.h"
#include "util/result.h"

struct gorepro_bpf;
struct bpf_link;
struct ring_buffer;

namespace gorepro::bpf {

struct ProbeProgramOptions {
  int stack_depth = 32;                // frames per stack, 1..GR_MAX_FRAMES
  uint64_t ring_bytes = 16ull << 20;   // the ring buffer (a power of two, >= 1 page)
};

// Where a probe address lies in the binary's file (uprobes are placed by file offset) and the
// BPF cookie its program gets: GR_COOKIE_JCC | condition for an entry probe on a stack-check
// jump, else 0.
struct UprobeSite {
  std::string role;
  uint64_t address = 0;  // link-time
  uint64_t file_offset = 0;
  uint64_t cookie = 0;
};
Result<std::vector<UprobeSite>> uprobe_sites(const GoBinary& binary, std::span<const Probe* const> probes);

// Receives each record as it is read from the ring: decoding only (no I/O); `r` is a copy,
// aligned, with nframes frames valid.
class RecordHandler {
 public:
  virtual ~RecordHandler() = default;
  virtual void on_record(const gr_record& r) = 0;
};

struct ProbeCounters {
  uint64_t hits = 0;           // probe hits that entered their function
  uint64_t events = 0;         // records written to the ring
  uint64_t read_failures = 0;  // hits whose target memory could not be read
  uint64_t lost = 0;           // records the ring had no room for
};

struct LostGoroutine {
  pid_t tgid = 0;
  uint64_t goid = 0;   // 0: the record was about no goroutine in particular
  uint64_t records = 0;
};

class ProbeProgram {
 public:
  // Checks the environment, then opens, configures and loads the programs the probes' roles
  // need. A refusal is one line with the fix (BpfEnvironment).
  static Result<std::unique_ptr<ProbeProgram>> load(const GoBinary& binary, std::span<const Probe* const> probes,
                                                    const ProbeProgramOptions& options);
  ~ProbeProgram();
  ProbeProgram(const ProbeProgram&) = delete;
  ProbeProgram& operator=(const ProbeProgram&) = delete;

  // Attaches a uprobe at every address of every probe given to load(), in the file at path
  // (a path naming the binary's inode, e.g. /proc/PID/exe); pid -1 probes every process that
  // maps the file, now or later. On failure, the uprobes attached so far are removed.
  Status attach(const std::string& path, pid_t pid);
  // Makes an exec by process pid a GR_EXEC record.
  Status track(pid_t pid);
  size_t uprobe_count() const { return links_.size(); }

  // Hands each waiting record to handler, waiting up to timeout_ms for the first ones;
  // returns how many were handled.
  Result<int> poll(RecordHandler& handler, int timeout_ms);
  // Readable (poll(2)) when records wait in the ring.
  int wait_fd() const;
  // Hands over everything waiting, without waiting.
  Result<int> drain(RecordHandler& handler);

  // The counters, summed over CPUs.
  ProbeCounters counters() const;
  // Goroutines whose records the ring had no room for since the last call (the map is
  // cleared as it is read), with how many each lost.
  std::vector<LostGoroutine> take_lost();

 private:
  ProbeProgram() = default;
  static int on_sample(void* ctx, void* data, size_t size);

  struct SkeletonDeleter {
    void operator()(gorepro_bpf* s) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* l) const;
  };
  struct RingDeleter {
    void operator()(ring_buffer* r) const;
  };
  std::unique_ptr<gorepro_bpf, SkeletonDeleter> skel_;
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;
  std::unique_ptr<ring_buffer, RingDeleter> ring_;
  std::unique_ptr<bpf_link, LinkDeleter> exec_link_;
  std::vector<UprobeSite> sites_;
  BpfEnvironment env_;
  uint64_t ring_bytes_ = 0;
  RecordHandler* handler_ = nullptr;  // during poll/drain
  gr_record scratch_{};               // the aligned copy handed to the handler
};

}  // namespace gorepro::bpf
