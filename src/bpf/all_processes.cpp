#include "bpf/all_processes.h"

#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "bpf/preexisting.h"
#include "bpf/probe_program.h"
#include "bpf/record_decoder.h"
#include "replay/trace_writer.h"
#include "tracer/recorder.h"
#include "tracer/sched_feed.h"

namespace gorepro::bpf {

namespace {

constexpr uint64_t kTickNs = 200'000'000;  // status line and flush cadence
constexpr int kMaxWaitMs = 50;             // longest wait in the ring: bounds how late a stop is seen

bool same_file(const struct stat& a, const std::string& path) {
  struct stat b;
  return stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Every process (but this one) whose executable is the file `bin`.
std::vector<pid_t> processes_running(const struct stat& bin) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == getpid()) continue;
    if (same_file(bin, fmt::format("/proc/{}/exe", pid))) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

class AllRecorder : private RecordHandler {
 public:
  AllRecorder(const GoBinary& binary, const AllRequest& request, std::vector<const Probe*> probes)
      : binary_(binary), request_(request), probes_(std::move(probes)), decoder_(gopark_entry(binary), request.stack_depth) {}

  Result<AllResult> run(const std::function<bool()>& stop);

 private:
  struct Proc {
    ProcessRecording rec;
    int pidfd = -1;
    std::unique_ptr<replay::TraceWriter> writer;
    std::unique_ptr<tracer::SchedFeed> feed;
    std::unique_ptr<tracer::TraceSink> sink;
    Delivery delivery;
    bool open = false;
  };
  static uint64_t gopark_entry(const GoBinary& b) { return b.probe("park") ? b.probe("park")->function.entry : 0; }

  void on_record(const gr_record& r) override {
    const pid_t pid = static_cast<pid_t>(r.tgid);
    if (!decoder_.knows(pid)) {  // a process that started after the uprobes went in
      auto bias = load_bias_of(pid, binary_.elf().entry());
      decoder_.set_bias(pid, bias ? *bias : 0);
    }
    decoder_.decode(r, batch_);
  }
  // Opens process pid's trace; its events go there from now on.
  Proc& open(pid_t pid, uint64_t t0);
  void close(Proc& p, const std::string& why);
  // Reads the ring and delivers to each process's trace; closes those that exec'd.
  Status pump(int wait_ms);
  void deliver_batch();
  void report_losses();

  const GoBinary& binary_;
  const AllRequest& request_;
  std::vector<const Probe*> probes_;
  std::unique_ptr<ProbeProgram> program_;
  RecordDecoder decoder_;
  RecordBatch batch_;
  std::map<pid_t, Proc> procs_;
  std::vector<pid_t> order_;
  uint64_t lost_seen_ = 0;
  uint64_t lost_unattributed_ = 0;
};

AllRecorder::Proc& AllRecorder::open(pid_t pid, uint64_t t0) {
  Proc& p = procs_[pid];
  order_.push_back(pid);
  p.rec.pid = pid;
  const std::string program = std::filesystem::path(request_.binary_path).filename().string();
  p.rec.trace_path = all_trace_path(request_.output, program, pid);
  replay::TraceHeader header = tracer::trace_header(binary_, request_.binary_path, "ebpf", probes_);
  header.pid = pid;
  header.clock = replay::ClockBase::now();
  auto writer = replay::TraceWriter::create(p.rec.trace_path, header);
  if (!writer) {
    p.rec.error = writer.error().message();
    return p;
  }
  p.writer = std::move(*writer);
  p.feed = std::make_unique<tracer::SchedFeed>(*p.writer, nullptr);
  p.sink = std::make_unique<tracer::TraceSink>(*p.writer, *p.feed);
  p.delivery.last_time_ns = t0;
  p.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  (void)program_->track(pid);
  p.open = true;
  return p;
}

void AllRecorder::close(Proc& p, const std::string& why) {
  if (!p.open) return;
  p.open = false;
  if (Status st = p.writer->close(); !st && p.rec.error.empty()) p.rec.error = st.error().message();
  p.rec.events = p.delivery.events;
  if (!why.empty() && p.rec.error.empty()) p.rec.error = why;
  if (p.pidfd >= 0) ::close(p.pidfd);
  p.pidfd = -1;
}

void AllRecorder::deliver_batch() {
  const uint64_t t0 = tracer::monotonic_ns();
  for (const Decoded& d : batch_.items) {
    if (!procs_.count(d.pid)) open(d.pid, t0);
  }
  for (auto& [pid, p] : procs_) {
    if (!p.open) continue;
    auto exec = std::find_if(batch_.items.begin(), batch_.items.end(), [&, pid = pid](const Decoded& d) {
      return d.kind == Decoded::Kind::kExec && d.pid == pid;
    });
    Status st = deliver(batch_, 0, static_cast<size_t>(exec - batch_.items.begin()), pid, *p.sink, p.delivery);
    if (!st) {
      close(p, st.error().message());
    } else if (exec != batch_.items.end()) {
      p.rec.execed = true;
      close(p, "");
    }
  }
  batch_.clear();
}

void AllRecorder::report_losses() {
  const uint64_t lost = program_->counters().lost;
  if (lost == lost_seen_) return;
  const uint64_t fresh = lost - lost_seen_;
  lost_seen_ = lost;
  std::map<pid_t, replay::LostEvents> by_pid;
  uint64_t named = 0;
  for (const LostGoroutine& g : program_->take_lost()) {
    auto it = procs_.find(g.tgid);
    if (it == procs_.end() || !it->second.open) continue;
    replay::LostEvents& l = by_pid[g.tgid];
    l.count += g.records;
    named += g.records;
    if (g.goid) l.goids.push_back(g.goid); else l.unattributed += g.records;
  }
  lost_unattributed_ += named >= fresh ? 0 : fresh - named;
  for (auto& [pid, l] : by_pid) {
    Proc& p = procs_[pid];
    std::sort(l.goids.begin(), l.goids.end());
    l.goids.erase(std::unique(l.goids.begin(), l.goids.end()), l.goids.end());
    l.time_ns = std::max(tracer::monotonic_ns(), p.delivery.last_time_ns);
    p.rec.lost += l.count;
    if (Status st = p.sink->events_lost(l); !st) close(p, st.error().message());
  }
}

Status AllRecorder::pump(int wait_ms) {
  std::vector<pollfd> fds = {{program_->wait_fd(), POLLIN, 0}};
  if (wait_ms > 0) (void)::poll(fds.data(), fds.size(), wait_ms);  // EINTR: a signal; look again
  // Exits first: every record of an exited process is in the ring by now.
  std::vector<pid_t> gone;
  for (auto& [pid, p] : procs_) {
    pollfd f{p.pidfd, POLLIN, 0};
    // No pidfd: the process was gone before its first records were read (pidfd_open: ESRCH).
    if (p.open && (p.pidfd < 0 || ::poll(&f, 1, 0) == 1)) gone.push_back(pid);
  }
  if (auto n = program_->drain(*this); !n) return n.error();
  deliver_batch();
  report_losses();
  for (pid_t pid : gone) {
    procs_[pid].rec.exited = true;
    close(procs_[pid], "");
  }
  return Ok{};
}

Result<AllResult> AllRecorder::run(const std::function<bool()>& stop) {
  struct stat bin;
  if (stat(request_.binary_path.c_str(), &bin) != 0) {
    return make_error(fmt::format("cannot read {}: {}", request_.binary_path, std::strerror(errno)),
                      "give the path of the executable the processes run");
  }
  ProbeProgramOptions options{.stack_depth = request_.stack_depth};
  if (request_.ring_bytes) options.ring_bytes = request_.ring_bytes;
  auto program = ProbeProgram::load(binary_, probes_, options);
  if (!program) return program.error();
  program_ = std::move(*program);

  // Uprobes first, then the processes already running: none can slip between the two.
  const uint64_t t0 = tracer::monotonic_ns();
  if (auto st = program_->attach(request_.binary_path, -1); !st) return st.error();
  std::map<pid_t, std::vector<replay::Event>> held;
  for (pid_t pid : processes_running(bin)) {
    auto bias = load_bias_of(pid, binary_.elf().entry());
    if (!bias) continue;  // gone meanwhile
    decoder_.set_bias(pid, *bias);
    Proc& p = open(pid, t0);
    if (!p.open) continue;
    auto pre = read_preexisting(binary_, pid, *bias, request_.stack_depth, t0, *p.sink);
    if (pre) held[pid] = std::move(*pre);
  }
  if (auto n = program_->drain(*this); !n) return n.error();
  for (auto& [pid, events] : held) {
    Proc& p = procs_[pid];
    reconcile(events, batch_, pid);
    p.rec.preexisting = events.size();
    for (const replay::Event& e : events) {
      if (Status st = p.sink->emit(e); !st) {
        close(p, st.error().message());
        break;
      }
      p.delivery.events++;
    }
  }
  deliver_batch();

  AllResult result;
  const uint64_t deadline = request_.duration_ns ? t0 + *request_.duration_ns : UINT64_MAX;
  const bool show_status = request_.status_line && isatty(2);
  uint64_t last_tick = tracer::monotonic_ns(), last_events = 0;
  while (true) {
    const uint64_t now = tracer::monotonic_ns();
    if (stop && stop()) {
      result.how = "stopped on request";
      break;
    }
    if (now >= deadline) {
      result.how = "duration reached";
      break;
    }
    const int wait_ms = static_cast<int>(std::min<uint64_t>((deadline - now) / 1'000'000 + 1, kMaxWaitMs));
    if (Status st = pump(wait_ms); !st) {
      result.how = st.error().message();
      break;
    }
    if (now - last_tick >= kTickNs) {
      uint64_t events = 0;
      size_t open = 0;
      for (auto& [pid, p] : procs_) {
        events += p.delivery.events;
        open += p.open;
        if (p.open) (void)p.sink->tick(now);
      }
      if (show_status) {
        fmt::print(stderr, "\r\x1b[Kgorepro: {} processes recorded ({} running), {} events ({:.0f}/s)", procs_.size(),
                   open, events, static_cast<double>(events - last_events) * 1e9 / static_cast<double>(now - last_tick));
        std::fflush(stderr);
      }
      last_events = events;
      last_tick = now;
    }
  }
  if (show_status) fmt::print(stderr, "\r\x1b[K");
  (void)pump(0);
  const ProbeCounters c = program_->counters();
  result.stats.hits = c.hits;
  result.stats.read_failures = c.read_failures;
  result.stats.lost = c.lost;
  program_.reset();  // every uprobe removed: the processes run on unprobed
  for (pid_t pid : order_) {
    Proc& p = procs_[pid];
    close(p, "");
    p.rec.events = p.delivery.events;
    result.stats.events += p.rec.events;
    result.processes.push_back(p.rec);
  }
  result.lost_unattributed = lost_unattributed_;
  return result;
}

}  // namespace

std::string all_trace_path(const std::string& output, const std::string& program, pid_t pid) {
  if (output.empty()) return fmt::format("gorepro-{}-{}.gtr", program, pid);
  std::filesystem::path p(output);
  std::string ext = p.extension().string();
  return (p.parent_path() / fmt::format("{}-{}{}", p.stem().string(), pid, ext.empty() ? ".gtr" : ext)).string();
}

Result<AllResult> record_all(const GoBinary& binary, const AllRequest& request, const std::function<bool()>& stop) {
  tracer::ProbeOptions options = request.probes;
  options.probe_schedtrace = options.probe_sched_reads = false;
  auto probes = tracer::chosen_probes(binary, options, tracer::BackendCaps{.stops_target = false});
  AllRecorder recorder(binary, request, std::move(probes));
  return recorder.run(stop);
}

}  // namespace gorepro::bpf
