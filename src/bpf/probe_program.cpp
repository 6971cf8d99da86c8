#include "bpf/probe_program.h"

#include <errno.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "gorepro_bpf.skel.h"
#include "tracer/registers.h"

namespace gorepro::bpf {

namespace {

// libbpf's own messages (the verifier's log among them) are kept, not printed: the last lines
// go into the error when something fails. GOREPRO_BPF_DEBUG=1 prints them all.
std::string g_libbpf_log;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  static const bool debug = std::getenv("GOREPRO_BPF_DEBUG") != nullptr;
  if (debug) return std::vfprintf(stderr, fmt, args);
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  g_libbpf_log += buf;
  if (g_libbpf_log.size() > 64 * 1024) g_libbpf_log.erase(0, g_libbpf_log.size() - 32 * 1024);
  return n;
}

// The last non-empty lines of libbpf's log, joined: what the kernel (verifier) said last.
std::string libbpf_tail(size_t lines = 2) {
  std::vector<std::string> out;
  size_t end = g_libbpf_log.size();
  while (end > 0 && out.size() < lines) {
    size_t start = g_libbpf_log.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = g_libbpf_log.substr(start, end - start);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.insert(out.begin(), line);
    if (start == 0) break;
    end = start - 1;
  }
  return fmt::format("{}", fmt::join(out, "; "));
}

// The x86 condition code of the conditional jump at the start of code, if it is one.
std::optional<uint8_t> jcc_condition(std::span<const uint8_t> code) {
  if (code.size() >= 1 && code[0] >= 0x70 && code[0] <= 0x7f) return code[0] & 0x0f;
  if (code.size() >= 2 && code[0] == 0x0f && code[1] >= 0x80 && code[1] <= 0x8f) return code[1] & 0x0f;
  return std::nullopt;
}

int32_t slot_of(const std::string& name) {
  if (name.empty()) return -1;
  auto ref = tracer::RegisterRef::named(name);
  return ref ? ref->slot() : -1;
}

}  // namespace

Result<std::vector<UprobeSite>> uprobe_sites(const GoBinary& binary, std::span<const Probe* const> probes) {
  std::vector<UprobeSite> out;
  for (const Probe* probe : probes) {
    for (uint64_t addr : probe->addresses) {
      const ElfSection* sec = binary.elf().section_at(addr);
      if (!sec) return make_error(fmt::format("{}: probe address {:#x} lies in no section", binary.path(), addr), "");
      uint64_t cookie = 0;
      if (probe->past_stack_check) {
        auto code = binary.elf().read(addr, 2);
        auto cc = code ? jcc_condition(*code) : std::nullopt;
        if (!cc) {
          return make_error(fmt::format("{}: the entry probe of {} at {:#x} is not on a conditional jump",
                                        binary.path(), probe->function.name, addr),
                            "use --backend=ptrace");
        }
        cookie = GR_COOKIE_JCC | *cc;
      }
      out.push_back({probe->role, addr, addr - sec->addr + sec->offset, cookie});
    }
  }
  return out;
}

void ProbeProgram::SkeletonDeleter::operator()(gorepro_bpf* s) const { gorepro_bpf__destroy(s); }
void ProbeProgram::LinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }
void ProbeProgram::RingDeleter::operator()(ring_buffer* r) const { ring_buffer__free(r); }

ProbeProgram::~ProbeProgram() = default;

Result<std::unique_ptr<ProbeProgram>> ProbeProgram::load(const GoBinary& binary, std::span<const Probe* const> probes,
                                                         const ProbeProgramOptions& options) {
  std::unique_ptr<ProbeProgram> p(new ProbeProgram());
  p->env_ = BpfEnvironment::gather();
  if (auto st = p->env_.check(); !st) return st.error();
  auto layout = ProbeLayout::resolve(binary);
  if (!layout) return layout.error();
  if (layout->g_read_size > GR_G_BUF) {
    return make_error(fmt::format("{}: runtime.g fields lie beyond {} bytes", binary.path(), GR_G_BUF), "");
  }
  if (options.stack_depth < 1 || options.stack_depth > GR_MAX_FRAMES) {
    return make_error(fmt::format("stack depth {} is out of range", options.stack_depth),
                      fmt::format("give --stack-depth between 1 and {}", GR_MAX_FRAMES));
  }
  const uint64_t ring = options.ring_bytes;
  if (ring < 4096 || (ring & (ring - 1)) != 0 || ring > (1ull << 31)) {
    return make_error(fmt::format("ring buffer size {} is not a power of two between 4 KiB and 2 GiB", ring), "");
  }
  p->ring_bytes_ = ring;

  auto sites = uprobe_sites(binary, probes);
  if (!sites) return sites.error();
  p->sites_ = std::move(*sites);
  std::set<std::string> roles;
  for (const Probe* probe : probes) roles.insert(probe->role);

  libbpf_set_print(libbpf_print);
  g_libbpf_log.clear();
  p->skel_.reset(gorepro_bpf__open());
  if (!p->skel_) return p->env_.explain("opening gorepro's BPF object", errno);
  gr_config& c = p->skel_->rodata->cfg;
  const ProbeLayout& l = *layout;
  auto s32 = [](int64_t v) { return static_cast<int32_t>(v); };
  c.off_goid = s32(l.g_goid), c.off_gopc = s32(l.g_gopc), c.off_startpc = s32(l.g_startpc);
  c.off_status = s32(l.g_status), c.off_waitreason = s32(l.g_waitreason), c.off_parent = s32(l.g_parent);
  c.off_sched_pc = s32(l.g_sched_pc), c.off_sched_bp = s32(l.g_sched_bp), c.off_schedlink = s32(l.g_schedlink);
  c.off_m = s32(l.g_m), c.off_stack_hi = s32(l.g_stack_hi), c.off_waiting = s32(l.g_waiting);
  c.off_m_g0 = s32(l.m_g0), c.off_m_curg = s32(l.m_curg), c.off_sudog_c = s32(l.sudog_c);
  c.off_coroarg = s32(l.g_coroarg), c.off_coroexit = s32(l.g_coroexit), c.off_coro_gp = s32(l.coro_gp);
  c.g_read_size = static_cast<uint32_t>(l.g_read_size);
  c.st_waiting = l.st_waiting, c.st_scan = l.st_scan;
  c.reason_coroutine = l.reason_coroutine;
  c.reg_create_result = slot_of(l.reg_create_result), c.reg_park_reason = slot_of(l.reg_park_reason);
  c.reg_park_lock = slot_of(l.reg_park_lock), c.reg_ready_gp = slot_of(l.reg_ready_gp);
  c.reg_inject_list = slot_of(l.reg_inject_list), c.reg_netpoll_result = slot_of(l.reg_netpoll_result);
  c.reg_execute_gp = slot_of(l.reg_execute_gp), c.reg_preempt_gp = slot_of(l.reg_preempt_gp);
  c.reg_yield_gp = slot_of(l.reg_yield_gp), c.reg_exitsyscall0_gp = slot_of(l.reg_exitsyscall0_gp);
  c.reg_sched_g_gp = slot_of(l.reg_sched_g_gp);
  c.stack_depth = static_cast<uint32_t>(options.stack_depth);
  c.wakeup_bytes = ring / 16;
  c.off_semaroot_treap = s32(l.semaroot_treap), c.off_sudog_g = s32(l.sudog_g), c.off_sudog_elem = s32(l.sudog_elem);
  c.off_sudog_prev = s32(l.sudog_prev), c.off_sudog_next = s32(l.sudog_next);
  c.off_sudog_waitlink = s32(l.sudog_waitlink);
  for (size_t r = 0; r < l.sema_reasons.size() && r < 256; r++) {
    if (l.sema_reasons[r]) c.sema_reasons[r / 64] |= uint64_t{1} << (r % 64);
  }
  if (bpf_map__set_max_entries(p->skel_->maps.events, static_cast<uint32_t>(ring)) != 0) {
    return p->env_.explain("sizing the ring buffer", errno, ring);
  }
  // Only the roles probed are loaded (and verified); the exec watch always is.
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, p->skel_->obj) {
    std::string name = bpf_program__name(prog);
    bool wanted = name == "on_exec" || (name.rfind("on_", 0) == 0 && roles.count(name.substr(3)));
    bpf_program__set_autoload(prog, wanted);
  }
  for (const std::string& role : roles) {
    if (!bpf_object__find_program_by_name(p->skel_->obj, ("on_" + role).c_str())) {
      return make_error(fmt::format("the BPF object has no program for probe role '{}'", role),
                        "rebuild gorepro: its BPF object and loader disagree");
    }
  }
  if (int err = gorepro_bpf__load(p->skel_.get()); err != 0) {
    Error e = p->env_.explain("loading gorepro's BPF programs", -err, ring);
    if (std::string tail = libbpf_tail(); !tail.empty()) e.what += " (kernel: " + tail + ")";
    return e;
  }
  p->ring_.reset(ring_buffer__new(bpf_map__fd(p->skel_->maps.events), &ProbeProgram::on_sample, p.get(), nullptr));
  if (!p->ring_) return p->env_.explain("opening the ring buffer", errno, ring);
  p->exec_link_.reset(bpf_program__attach_raw_tracepoint(p->skel_->progs.on_exec, "sched_process_exec"));
  if (!p->exec_link_) return p->env_.explain("watching for exec (raw tracepoint sched_process_exec)", errno);
  return p;
}

Status ProbeProgram::attach(const std::string& path, pid_t pid) {
  const size_t first = links_.size();
  for (const UprobeSite& s : sites_) {
    bpf_program* prog = bpf_object__find_program_by_name(skel_->obj, ("on_" + s.role).c_str());
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = s.cookie);
    bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid, path.c_str(), s.file_offset, &opts);
    if (!link) {
      int err = errno;
      links_.resize(first);
      Error e = env_.explain(fmt::format("attaching a uprobe ({}) at offset {:#x} of {}", s.role, s.file_offset, path), err);
      if (std::string tail = libbpf_tail(1); !tail.empty()) e.what += " (" + tail + ")";
      return e;
    }
    links_.emplace_back(link);
  }
  return Ok{};
}

Status ProbeProgram::track(pid_t pid) {
  uint32_t key = static_cast<uint32_t>(pid);
  uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.tracked), &key, &one, BPF_ANY) != 0) {
    return env_.explain(fmt::format("watching process {} for exec", pid), errno);
  }
  return Ok{};
}

int ProbeProgram::on_sample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<ProbeProgram*>(ctx);
  if (size < GR_RECORD_HEADER_SIZE || !self->handler_) return 0;
  // Ring records are 8-byte aligned but not guaranteed more: copy before reading fields.
  std::memcpy(&self->scratch_, data, std::min(size, sizeof(gr_record)));
  const size_t room = (std::min(size, sizeof(gr_record)) - GR_RECORD_HEADER_SIZE) / 8;
  if (self->scratch_.nframes > room) self->scratch_.nframes = static_cast<gr_u16>(room);
  self->handler_->on_record(self->scratch_);
  return 0;
}

Result<int> ProbeProgram::poll(RecordHandler& handler, int timeout_ms) {
  handler_ = &handler;
  int n = ring_buffer__poll(ring_.get(), timeout_ms);
  handler_ = nullptr;
  if (n == -EINTR) return 0;
  if (n < 0) return make_error(fmt::format("reading the ring buffer failed: {}", std::strerror(-n)), "");
  return n;
}

int ProbeProgram::wait_fd() const { return ring_buffer__epoll_fd(ring_.get()); }

Result<int> ProbeProgram::drain(RecordHandler& handler) {
  handler_ = &handler;
  int n = ring_buffer__consume(ring_.get());
  handler_ = nullptr;
  if (n < 0) return make_error(fmt::format("reading the ring buffer failed: {}", std::strerror(-n)), "");
  return n;
}

ProbeCounters ProbeProgram::counters() const {
  ProbeCounters out;
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return out;
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  uint64_t* fields[GR_STAT_COUNT] = {&out.hits, &out.events, &out.read_failures, &out.lost};
  for (uint32_t key = 0; key < GR_STAT_COUNT; key++) {
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.stats), &key, values.data()) != 0) continue;
    for (uint64_t v : values) *fields[key] += v;
  }
  return out;
}

std::vector<LostGoroutine> ProbeProgram::take_lost() {
  std::vector<LostGoroutine> out;
  const int fd = bpf_map__fd(skel_->maps.lost_goids);
  std::vector<gr_lost_key> keys;
  gr_lost_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  for (const gr_lost_key& k : keys) {
    uint64_t n = 0;  // read and removed at once: a loss counted meanwhile is not dropped
    if (bpf_map_lookup_and_delete_elem(fd, &k, &n) == 0) out.push_back({static_cast<pid_t>(k.tgid), k.goid, n});
  }
  return out;
}

}  // namespace gorepro::bpf
