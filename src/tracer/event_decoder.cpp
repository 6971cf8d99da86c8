#include "tracer/event_decoder.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "tracer/backend.h"  // monotonic_ns

namespace gorepro::tracer {

namespace {

constexpr size_t kMaxListWalk = 100000;  // bound on a g list walked at one hit
constexpr size_t kStackWindow = 2048;    // bytes of stack read per process_vm_readv
constexpr long kSchedSettleNs = 1'000'000;  // see kSchedBegin
// See kSchedG. Generous: a waiting read costs only when a change is in flight, and on a busy
// machine the thread that makes it may wait several scheduler slices for a CPU.
constexpr uint64_t kSettleMaxNs = 20'000'000;
constexpr long kSettleStepNs = 20'000;

}  // namespace

std::optional<ProbeRole> probe_role(const std::string& name) {
  static const std::pair<const char*, ProbeRole> roles[] = {
      {"create", ProbeRole::kCreate}, {"park", ProbeRole::kPark},       {"ready", ProbeRole::kReady},
      {"inject", ProbeRole::kInject}, {"netpoll", ProbeRole::kNetpoll}, {"execute", ProbeRole::kExecute},
      {"exit", ProbeRole::kExit},   {"gcworker", ProbeRole::kGcWorker}, {"unpark", ProbeRole::kUnpark},
      {"coroswitch", ProbeRole::kCoroSwitch},
      {"preempt", ProbeRole::kPreempt}, {"yield", ProbeRole::kYield}, {"syscall", ProbeRole::kSyscall},
      {"syscall_block", ProbeRole::kSyscallBlock}, {"syscall_exit", ProbeRole::kSyscallExit},
      {"syscall_exit0", ProbeRole::kSyscallExit0},
      {"sched_begin", ProbeRole::kSchedBegin}, {"sched_end", ProbeRole::kSchedEnd}, {"sched_g", ProbeRole::kSchedG},
  };
  for (const auto& [n, r] : roles) {
    if (name == n) return r;
  }
  return std::nullopt;
}

uint64_t EventDecoder::GView::u64(int64_t off) const {
  uint64_t v;
  std::memcpy(&v, bytes + off, 8);
  return v;
}
uint32_t EventDecoder::GView::u32(int64_t off) const {
  uint32_t v;
  std::memcpy(&v, bytes + off, 4);
  return v;
}
uint8_t EventDecoder::GView::u8(int64_t off) const { return bytes[off]; }

Result<EventDecoder> EventDecoder::make(const GoBinary& binary, const TargetMemory& memory, uint64_t load_bias,
                                        EventSink& sink, int stack_depth) {
  EventDecoder d(binary, memory, sink);
  d.stack_depth_ = std::clamp(stack_depth, 1, 256);
  d.pcs_.reserve(static_cast<size_t>(d.stack_depth_) + 1);
  auto layout = ProbeLayout::resolve(binary);
  if (!layout) return layout.error();
  const ProbeLayout& l = *layout;
  d.off_goid_ = l.g_goid, d.off_gopc_ = l.g_gopc, d.off_startpc_ = l.g_startpc, d.off_status_ = l.g_status;
  d.off_waitreason_ = l.g_waitreason, d.off_parent_ = l.g_parent, d.off_sched_sp_ = l.g_sched_sp;
  d.off_sched_pc_ = l.g_sched_pc, d.off_sched_bp_ = l.g_sched_bp, d.off_schedlink_ = l.g_schedlink;
  d.off_m_ = l.g_m, d.off_stack_hi_ = l.g_stack_hi, d.off_waiting_ = l.g_waiting;
  d.off_m_g0_ = l.m_g0, d.off_m_curg_ = l.m_curg, d.off_sudog_c_ = l.sudog_c;
  d.off_coroarg_ = l.g_coroarg, d.off_coroexit_ = l.g_coroexit, d.off_coro_gp_ = l.coro_gp;
  d.reason_coroutine_ = l.reason_coroutine;
  d.layout_ = l;
  d.st_idle_ = l.st_idle, d.st_runnable_ = l.st_runnable, d.st_running_ = l.st_running, d.st_syscall_ = l.st_syscall;
  d.st_waiting_ = l.st_waiting, d.st_dead_ = l.st_dead, d.st_preempted_ = l.st_preempted, d.st_scan_ = l.st_scan;
  d.st_leaked_ = l.st_leaked, d.st_deadextra_ = l.st_deadextra;
  std::string unnamed;
  auto reg = [&](const std::string& name, RegisterRef* out) {
    if (auto ref = RegisterRef::named(name)) *out = *ref; else unnamed += fmt::format(" {}", name);
  };
  reg(l.reg_create_result, &d.reg_create_result_);
  reg(l.reg_park_reason, &d.reg_park_reason_);
  reg(l.reg_park_lock, &d.reg_park_lock_);
  reg(l.reg_ready_gp, &d.reg_ready_gp_);
  reg(l.reg_inject_list, &d.reg_inject_list_);
  reg(l.reg_netpoll_result, &d.reg_netpoll_result_);
  reg(l.reg_execute_gp, &d.reg_execute_gp_);
  reg(l.reg_preempt_gp, &d.reg_preempt_gp_);
  reg(l.reg_yield_gp, &d.reg_yield_gp_);
  reg(l.reg_exitsyscall0_gp, &d.reg_exitsyscall0_gp_);
  if (!unnamed.empty()) {
    return make_error(fmt::format("{}: arguments in registers gorepro cannot read:{}", binary.path(), unnamed),
                      "this Go version's runtime is not one gorepro supports");
  }
  if (auto ref = RegisterRef::named(l.reg_sched_g_gp)) {
    d.reg_sched_g_gp_ = *ref;
    d.exact_reads_ = true;
  }
  d.g_read_size_ = l.g_read_size;
  if (d.g_read_size_ > sizeof(GView::bytes)) {
    return make_error(fmt::format("{}: runtime.g fields lie beyond {} bytes", binary.path(), sizeof(GView::bytes)), "");
  }
  d.gopark_entry_ = l.gopark_entry;
  d.bias_ = load_bias;
  return d;
}

uint64_t EventDecoder::semaphore_of(uint64_t root, uint64_t gaddr) const {
  const ProbeLayout& l = layout_;
  uint64_t node = 0;
  if (!memory_.read_u64(root + static_cast<uint64_t>(l.semaroot_treap), &node)) return 0;
  const int64_t size = std::max({l.sudog_g, l.sudog_elem, l.sudog_prev, l.sudog_next, l.sudog_waitlink}) + 8;
  uint8_t s[256];
  if (size > static_cast<int64_t>(sizeof(s))) return 0;
  auto at = [&](int64_t off) {
    uint64_t v;
    std::memcpy(&v, s + off, 8);
    return v;
  };
  // The goroutine just queued itself; a treap of a few waiting addresses, each with its
  // waiters in line: a bounded walk (the runtime's own treap is balanced).
  uint64_t todo[64];
  size_t n = 0, visited = 0;
  if (node) todo[n++] = node;
  while (n && visited++ < 256) {
    const uint64_t a = todo[--n];
    if (!memory_.read(a, s, static_cast<size_t>(size))) return 0;
    if (at(l.sudog_g) == gaddr) return at(l.sudog_elem);
    for (int64_t off : {l.sudog_prev, l.sudog_next, l.sudog_waitlink}) {
      if (uint64_t next = at(off); next && n < std::size(todo)) todo[n++] = next;
    }
  }
  return 0;
}

bool EventDecoder::read_g(uint64_t addr, GView* g) const {
  return addr != 0 && memory_.read(addr, g->bytes, g_read_size_);
}

Status EventDecoder::check_live_g(const GView& g, const char* what) const {
  constexpr uint64_t kMaxGoid = uint64_t{1} << 40;  // a trillion goroutines: past any real count
  const uint32_t status = g.u32(off_status_);
  const uint64_t goid = g.u64(off_goid_);
  bool defined = false;  // any _G state of this runtime (_Gcopystack too: transient, but real)
  for (const auto& [name, value] : binary_.layout().constants) defined |= value == (status & ~st_scan_);
  if (defined && state_of(status) != replay::GoState::Dead && goid != 0 && goid < kMaxGoid &&
      g.u64(off_startpc_) != 0) {
    return Ok{};
  }
  return make_error(fmt::format("{}: the {} runtime layout ({}) does not fit the running program: {} has status "
                                "{:#x}, goid {}", binary_.path(), binary_.layout().go_minor,
                                to_string(binary_.layout().source), what, status, goid),
                    "rebuild the program without -ldflags='-s -w' so gorepro reads its layout from DWARF");
}

uint64_t EventDecoder::current_user_g(const Registers& regs) const {
  uint64_t g = regs.g();
  uint64_t m = 0;
  if (!memory_.read_u64(g + static_cast<uint64_t>(off_m_), &m) || m == 0) return g;
  // m.g0 and m.curg in one read when they are close (they are: 0 and 192 in every version).
  int64_t lo = std::min(off_m_g0_, off_m_curg_), hi = std::max(off_m_g0_, off_m_curg_);
  uint64_t words[64];
  if (hi - lo + 8 <= static_cast<int64_t>(sizeof words)) {
    if (!memory_.read(m + static_cast<uint64_t>(lo), words, static_cast<size_t>(hi - lo + 8))) return g;
    uint64_t g0 = words[(off_m_g0_ - lo) / 8], curg = words[(off_m_curg_ - lo) / 8];
    return g == g0 ? curg : g;
  }
  uint64_t g0 = 0, curg = 0;
  if (!memory_.read_u64(m + static_cast<uint64_t>(off_m_g0_), &g0)) return g;
  if (g != g0) return g;
  if (!memory_.read_u64(m + static_cast<uint64_t>(off_m_curg_), &curg)) return 0;
  return curg;
}

replay::StackId EventDecoder::walk_stack(uint64_t first_pc, uint64_t bp, uint64_t stack_hi) {
  pcs_.clear();
  if (first_pc) pcs_.push_back(first_pc - bias_);
  uint8_t window[kStackWindow];
  uint64_t win_lo = 0, win_hi = 0;
  while (bp != 0 && pcs_.size() < static_cast<size_t>(stack_depth_) && (stack_hi == 0 || bp + 16 <= stack_hi)) {
    if (bp < win_lo || bp + 16 > win_hi) {
      size_t len = kStackWindow;
      if (stack_hi && stack_hi - bp < len) len = stack_hi - bp;
      if (len < 16 || !memory_.read(bp, window, len)) break;
      win_lo = bp;
      win_hi = bp + len;
    }
    uint64_t next_bp, ret;
    std::memcpy(&next_bp, window + (bp - win_lo), 8);
    std::memcpy(&ret, window + (bp - win_lo) + 8, 8);
    if (ret == 0) break;
    pcs_.push_back(ret - bias_);
    if (next_bp <= bp) break;  // frames grow upward; anything else is the end (or garbage)
    bp = next_bp;
  }
  return sink_.intern_stack(pcs_);
}

replay::GoState EventDecoder::state_of(uint32_t s) const {
  s &= ~st_scan_;
  if (s == st_runnable_ || s == st_preempted_) return replay::GoState::Runnable;
  if (s == st_running_) return replay::GoState::Running;
  if (s == st_syscall_) return replay::GoState::Syscall;
  if (s == st_waiting_ || s == st_leaked_) return replay::GoState::Waiting;
  if (s == st_dead_ || s == st_idle_ || s == st_deadextra_) return replay::GoState::Dead;
  return replay::GoState::Unknown;
}

void EventDecoder::note(const replay::Event& e, uint32_t old_status) {
  stats_.events++;
  if (settle_reads_ && old_status != kNoChange) in_flight_[e.goid] = {old_status, e.tid};
}

Status EventDecoder::emit(const replay::Event& e, uint32_t old_status) {
  note(e, old_status);
  return sink_.emit(e);
}

bool EventDecoder::read_labels(uint64_t ptr, replay::Labels& out) const {
  out.clear();
  const ProbeLayout& l = layout_;
  if (ptr == 0) return true;
  // Bounds against garbage: real label sets are a handful of short strings.
  constexpr uint64_t kMaxLabels = 64, kMaxString = 4096;
  std::vector<uint64_t> strs;  // (ptr, len) pairs: key, value, key, value...
  if (l.labels_list >= 0) {
    uint64_t slice[2];
    if (!memory_.read(ptr + static_cast<uint64_t>(l.labels_list), slice, sizeof slice)) return false;
    const uint64_t n = std::min(slice[1], kMaxLabels);
    std::vector<uint8_t> elems(n * static_cast<uint64_t>(l.label_size));
    if (n && !memory_.read(slice[0], elems.data(), elems.size())) return false;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t kv[4];  // Key {ptr, len} at 0, Value {ptr, len} at label_size - 16
      std::memcpy(kv, elems.data() + i * l.label_size, 16);
      std::memcpy(kv + 2, elems.data() + (i + 1) * l.label_size - 16, 16);
      strs.insert(strs.end(), kv, kv + 4);
    }
  } else if (l.hmap_count >= 0) {
    // The labelMap is a map variable: a pointer to the hmap. Entries live in the buckets, and
    // while the map grows, also in the old buckets not yet moved (their tophash[0] is then not
    // an evacuated mark). Up to Go 1.23's maps: tophash >= 5 (minTopHash) marks a full slot,
    // 2..4 an evacuated bucket.
    uint64_t hmap = 0;
    if (!memory_.read_u64(ptr, &hmap)) return false;
    if (hmap == 0) return true;
    uint8_t hdr[64];
    const size_t hdr_size = static_cast<size_t>(std::max({l.hmap_count, l.hmap_b, l.hmap_buckets, l.hmap_oldbuckets})) + 8;
    if (hdr_size > sizeof hdr || !memory_.read(hmap, hdr, hdr_size)) return false;
    const uint8_t b = hdr[l.hmap_b];
    if (b > 4) return false;  // more than 16 buckets: not a label set
    uint64_t buckets, oldbuckets;
    std::memcpy(&buckets, hdr + l.hmap_buckets, 8);
    std::memcpy(&oldbuckets, hdr + l.hmap_oldbuckets, 8);
    std::vector<uint8_t> bucket(static_cast<size_t>(l.bucket_size));
    auto walk = [&](uint64_t addr, bool old) -> bool {
      for (int chain = 0; addr != 0 && chain < 8; chain++) {
        if (!memory_.read(addr, bucket.data(), bucket.size())) return false;
        const uint8_t* top = bucket.data() + l.bucket_tophash;
        if (old && top[0] >= 2 && top[0] <= 4) return true;  // evacuated: its entries are in buckets
        for (int64_t i = 0; i < l.bucket_entries && strs.size() < 4 * kMaxLabels; i++) {
          if (top[i] < 5) continue;
          uint64_t kv[4];
          std::memcpy(kv, bucket.data() + l.bucket_keys + 16 * i, 16);
          std::memcpy(kv + 2, bucket.data() + l.bucket_values + 16 * i, 16);
          strs.insert(strs.end(), kv, kv + 4);
        }
        std::memcpy(&addr, bucket.data() + l.bucket_overflow, 8);
      }
      return true;
    };
    for (uint64_t i = 0; i < (uint64_t{1} << b); i++) {
      if (!walk(buckets + i * static_cast<uint64_t>(l.bucket_size), false)) return false;
    }
    for (uint64_t i = 0; oldbuckets && b > 0 && i < (uint64_t{1} << (b - 1)); i++) {
      if (!walk(oldbuckets + i * static_cast<uint64_t>(l.bucket_size), true)) return false;
    }
  } else {
    return true;  // no labels in this binary's layout
  }
  std::vector<std::string> text(strs.size() / 2);
  std::vector<ReadRange> ranges;
  for (size_t i = 0; i < text.size(); i++) {
    text[i].resize(std::min(strs[2 * i + 1], kMaxString));
    if (!text[i].empty()) ranges.push_back({strs[2 * i], text[i].data(), text[i].size()});
  }
  if (memory_.read_many(ranges) != 0) return false;
  for (size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(replay::Label{std::move(text[i]), std::move(text[i + 1])});
  std::sort(out.begin(), out.end());
  // A map being grown may list a key in both bucket arrays.
  out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key == b.key; }), out.end());
  return true;
}

Status EventDecoder::emit_with_labels(const replay::Event& e, uint64_t labels_ptr, uint32_t old_status) {
  auto it = labels_seen_.find(e.goid);
  const uint64_t before = it == labels_seen_.end() ? 0 : it->second;
  if (labels_ptr == before || layout_.g_labels < 0) return emit(e, old_status);
  replay::Labels labels;
  if (!read_labels(labels_ptr, labels)) {
    stats_.read_failures++;
    return emit(e, old_status);  // tried again at its next event
  }
  if (labels_ptr) labels_seen_[e.goid] = labels_ptr; else labels_seen_.erase(it);
  note(e, old_status);
  return sink_.emit_labeled(e, labels);
}

bool EventDecoder::thread_in_trace_stop(uint32_t tid) const {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task/%u/stat", memory_.pid(), tid);
  FILE* f = std::fopen(path, "re");
  if (!f) return true;  // gone: nothing will change
  char buf[512];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* close = std::strrchr(buf, ')');  // "pid (comm) S ...": comm may hold spaces
  return close && close[1] == ' ' && (close[2] == 't' || close[2] == 'T');
}

void EventDecoder::settle(uint64_t gaddr, const InFlight& change) {
  const uint64_t deadline = monotonic_ns() + kSettleMaxNs;
  bool waited = false, stopped = false;
  uint32_t status = 0;
  while (memory_.read(gaddr + static_cast<uint64_t>(off_status_), &status, sizeof status) &&
         (status & ~st_scan_) == change.old_status && monotonic_ns() < deadline) {
    // E.g. back from a system call without a P: exitsyscall's change waits behind our stop
    // at exitsyscall0, which this thread cannot handle while it waits here.
    if (change.tid && thread_in_trace_stop(change.tid)) {
      stopped = true;
      break;
    }
    waited = true;
    timespec pause{0, kSettleStepNs};
    nanosleep(&pause, nullptr);
  }
  const bool landed = (status & ~st_scan_) != change.old_status;
  stats_.settled_reads += waited && landed;
  stats_.settle_blocked += !landed && stopped;
  stats_.settle_timeouts += !landed && !stopped && waited;
}

Status EventDecoder::emit_list_ready(uint64_t head, uint32_t tid, uint64_t now, uint64_t waker) {
  GView g;
  for (size_t n = 0; head != 0 && n < kMaxListWalk; n++) {
    if (!read_g(head, &g)) {
      stats_.read_failures++;
      break;
    }
    if (auto st = emit(replay::Event::ready(now, tid, g.u64(off_goid_), waker), st_waiting_); !st) return st;
    head = g.u64(off_schedlink_);
  }
  return Ok{};
}

Status EventDecoder::emit_state(uint64_t gaddr, uint32_t tid, uint64_t now, replay::GoState to, uint32_t old_status) {
  uint64_t goid = 0;
  if (!gaddr || !memory_.read_u64(gaddr + static_cast<uint64_t>(off_goid_), &goid)) {
    stats_.read_failures++;
    return Ok{};
  }
  return emit(replay::Event::state_change(now, tid, goid, to), old_status);
}

Status EventDecoder::on_hit(ProbeRole role, uint32_t tid, const Registers& regs, uint64_t now) {
  stats_.hits++;
  GView g;
  switch (role) {
    case ProbeRole::kCreate: {
      // At newproc1's RET: the result register holds the new g; R14 is the g0 of this M and
      // m.curg the goroutine whose `go` statement ran (systemstack saved its frame in sched).
      uint64_t newg = reg_create_result_.read(regs);
      if (!read_g(newg, &g)) break;
      if (!layout_confirmed_) {
        if (auto st = check_live_g(g, "the first goroutine created"); !st) return st;
        layout_confirmed_ = true;
      }
      uint64_t goid = g.u64(off_goid_), gopc = g.u64(off_gopc_) - bias_, startpc = g.u64(off_startpc_) - bias_;
      uint64_t parent = off_parent_ >= 0 ? g.u64(off_parent_) : 0;
      replay::StackId stack = 0;
      uint64_t parent_g = current_user_g(regs);
      GView pg;
      if (parent_g && parent_g != newg && read_g(parent_g, &pg)) {
        if (off_parent_ < 0) parent = pg.u64(off_goid_);
        // Walk from the parent's saved frame; the first return address is newproc's, i.e. gopc.
        walk_stack(0, pg.u64(off_sched_bp_), pg.u64(off_stack_hi_));
        auto it = std::find(pcs_.begin(), pcs_.end(), gopc);
        if (it != pcs_.end()) {
          pcs_.erase(pcs_.begin(), it);
          stack = sink_.intern_stack(pcs_);
        }
      }
      if (stack == 0) {
        uint64_t only[1] = {gopc};
        stack = sink_.intern_stack(only);
      }
      if (auto st = emit_with_labels(replay::Event::create(now, tid, parent, goid, gopc, startpc, stack), labels_of(g));
          !st)
        return st;
      // Go 1.23 creates a coroutine's goroutine parked (newproc1's `parked`): it waits for its
      // first switch, at its start function, and nothing else will say so.
      if ((g.u32(off_status_) & ~st_scan_) == st_waiting_) {
        return emit(replay::Event::park(now, tid, goid, g.u8(off_waitreason_), 0, saved_stack(g)));
      }
      return Ok{};
    }
    case ProbeRole::kPark: {
      // At gopark's entry, on the parking goroutine's own stack: R14 is that g, the return
      // address is at RSP and RBP is still the caller's frame.
      uint64_t gaddr = regs.g();
      if (!read_g(gaddr, &g)) break;
      uint64_t reason = reg_park_reason_.read(regs) & 0xff;  // waitReason is a uint8
      uint64_t object = reg_park_lock_.read(regs);
      const bool sema = reason < layout_.sema_reasons.size() && layout_.sema_reasons[reason];
      if (uint64_t sudog = g.u64(off_waiting_)) {
        uint64_t chan = 0, elem = 0;
        if (memory_.read_u64(sudog + static_cast<uint64_t>(off_sudog_c_), &chan) && chan) {
          object = chan;
        } else if (sema && layout_.sudog_elem >= 0 &&  // Go 1.26+ points g.waiting at a semaphore's sudog too
                   memory_.read_u64(sudog + static_cast<uint64_t>(layout_.sudog_elem), &elem) && elem) {
          object = elem;
        }
      } else if (object && sema) {
        if (uint64_t addr = semaphore_of(object, gaddr)) object = addr;
      }
      uint64_t ret = 0;
      memory_.read_u64(regs.sp(), &ret);
      pcs_.clear();
      walk_stack(0, regs.bp(), g.u64(off_stack_hi_));
      pcs_.insert(pcs_.begin(), ret - bias_);
      pcs_.insert(pcs_.begin(), gopark_entry_);
      if (pcs_.size() > static_cast<size_t>(stack_depth_)) pcs_.resize(static_cast<size_t>(stack_depth_));
      replay::StackId stack = sink_.intern_stack(pcs_);
      // Labels changed by SetGoroutineLabels are seen here, at the goroutine's next park.
      return emit_with_labels(replay::Event::park(now, tid, g.u64(off_goid_), static_cast<uint32_t>(reason), object, stack),
                              labels_of(g),
                  st_running_);
    }
    case ProbeRole::kReady: {
      uint64_t gp = reg_ready_gp_.read(regs);
      if (!read_g(gp, &g)) break;
      uint64_t waker_g = current_user_g(regs);
      uint64_t waker = 0;
      GView wg;
      if (waker_g && read_g(waker_g, &wg)) waker = wg.u64(off_goid_);
      return emit(replay::Event::ready(now, tid, g.u64(off_goid_), waker), st_waiting_);
    }
    case ProbeRole::kInject: {
      uint64_t list = reg_inject_list_.read(regs), head = 0;
      if (list == 0 || !memory_.read_u64(list, &head)) return Ok{};
      return emit_list_ready(head, tid, now, 0);
    }
    case ProbeRole::kNetpoll:
      // At netpoll's RET the gList's head is in the first result register (gList is {head}, and
      // {head, size} from Go 1.26: two registers, head first).
      return emit_list_ready(reg_netpoll_result_.read(regs), tid, now, 0);
    // The state probes sit before the change they announce (old status → new), except gcworker.
    case ProbeRole::kExecute:  // on g0: gp is about to run on this thread
      return emit_state(reg_execute_gp_.read(regs), tid, now, replay::GoState::Running, st_runnable_);
    case ProbeRole::kGcWorker:
      // A GC mark worker resumes from its gopark: the scheduler made it runnable directly
      // (findRunnableGCWorker, findRunnable's idle worker), without ready. R14 is the worker.
      return emit_state(regs.g(), tid, now, replay::GoState::Running, kNoChange);
    case ProbeRole::kUnpark:
      // park_m, on g0: the park's commit function said no (the reason to wait went away, e.g.
      // the fd became ready), so gp — already runnable again — is run at once, like execute.
      return emit_state(reg_execute_gp_.read(regs), tid, now, replay::GoState::Running, st_runnable_);
    case ProbeRole::kCoroSwitch: {
      // coroswitch_m, on g0 via mcall (m.curg is still the switching goroutine, its context
      // saved in g.sched): it waits for its coro — or, ending, is freed here without goexit1 —
      // and the goroutine the coro holds runs next on this thread.
      uint64_t gp = current_user_g(regs), coro = 0, next = 0, exiting = 0;
      if (off_coroarg_ < 0 || off_coroexit_ < 0 || off_coro_gp_ < 0 || !read_g(gp, &g) ||
          !memory_.read_u64(gp + static_cast<uint64_t>(off_coroarg_), &coro) || coro == 0 ||
          !memory_.read_u64(gp + static_cast<uint64_t>(off_coroexit_), &exiting) ||
          !memory_.read_u64(coro + static_cast<uint64_t>(off_coro_gp_), &next)) {
        break;
      }
      const uint64_t goid = g.u64(off_goid_);
      if (exiting & 0xff) {
        forget_labels(goid);
        if (auto st = emit(replay::Event::exit(now, tid, goid), st_running_); !st) return st;
      } else {
        replay::Event park = replay::Event::park(now, tid, goid, reason_coroutine_, coro, saved_stack(g));
        if (auto st = emit(park, st_running_); !st) return st;
      }
      return next ? emit_state(next, tid, now, replay::GoState::Running, st_waiting_) : Ok{};
    }
    case ProbeRole::kPreempt:  // on g0, via mcall: gp stops running and goes to a run queue
      return emit_state(reg_preempt_gp_.read(regs), tid, now, replay::GoState::Runnable, st_running_);
    case ProbeRole::kYield:
      return emit_state(reg_yield_gp_.read(regs), tid, now, replay::GoState::Runnable, st_running_);
    case ProbeRole::kSyscall:
    case ProbeRole::kSyscallBlock:  // on the goroutine itself (nosplit, R14 is it)
      return emit_state(regs.g(), tid, now, replay::GoState::Syscall, st_running_);
    case ProbeRole::kSyscallExit:
      // exitsyscall's entry, on the goroutine: it runs on (or, with no P free, goes through
      // exitsyscall0 — runnable — and execute).
      return emit_state(regs.g(), tid, now, replay::GoState::Running, st_syscall_);
    case ProbeRole::kSyscallExit0:  // on g0: no P was free, gp goes to the global run queue
      return emit_state(reg_exitsyscall0_gp_.read(regs), tid, now, replay::GoState::Runnable, st_syscall_);
    case ProbeRole::kSchedG: {
      // The dump is about to print this goroutine's G line. A change gorepro already recorded
      // for it (the probes sit just before the change) may not have landed yet if its thread
      // was resumed a moment ago and has not run since: let it land first, so the runtime reads
      // the state the events say — a bounded wait, taken only when the status still shows the
      // old value.
      const uint64_t gp = reg_sched_g_gp_.read(regs);
      uint64_t goid = 0;
      if (!memory_.read_u64(gp + static_cast<uint64_t>(off_goid_), &goid)) break;
      if (auto it = in_flight_.find(goid); it != in_flight_.end()) {
        settle(gp, it->second);
        in_flight_.erase(it);
      }
      sink_.schedtrace_g_read(goid);
      if (++sched_reads_in_dump_ == kSchedReadsPerDump) {
        stats_.capped_dumps++;
        sink_.schedtrace_reads_capped();
      }
      return Ok{};
    }
    case ProbeRole::kSchedBegin: {
      // A thread we resumed from a probe changes its goroutine's status a few instructions
      // later — unless it is waiting for a CPU, which on a small machine the dumping thread
      // may hold for the whole dump. Without G-line read probes, holding the dump back a
      // moment lets those transitions land first, so the dump's counts and the events agree
      // on what happened before it. With them, each read waits for its own goroutine's change
      // (kSchedG), which makes the hold redundant: over all examples x versions agreement was
      // 1.0000 with and without it, and the hold cost 4% of wall time at --schedtrace=10.
      if (!settle_reads_ || !exact_reads_) {
        timespec pause{0, kSchedSettleNs};
        nanosleep(&pause, nullptr);
      }
      sched_reads_in_dump_ = 0;
      sink_.schedtrace_dump(monotonic_ns(), true);
      return Ok{};
    }
    case ProbeRole::kSchedEnd:
      sink_.schedtrace_dump(now, false);
      return Ok{};
    case ProbeRole::kExit: {
      if (!read_g(regs.g(), &g)) break;
      forget_labels(g.u64(off_goid_));
      return emit(replay::Event::exit(now, tid, g.u64(off_goid_)), st_running_);
    }
  }
  stats_.read_failures++;
  return Ok{};
}

Result<size_t> EventDecoder::snapshot_goroutines(uint64_t now) {
  auto list = read_goroutines(0);
  if (!list) return list.error();
  if (list->list_unreadable) return make_error("cannot read the runtime's goroutine list from the target", "");
  if (auto st = emit_preexisting(*list, now); !st) return st.error();
  return list->live.size();
}

Status EventDecoder::emit_preexisting(const GoroutineList& list, uint64_t now) {
  for (const GoroutineSample& g : list.live) {
    const bool waiting = g.state == replay::GoState::Waiting;
    auto st = emit_with_labels(replay::Event::preexisting(now, g.goid, g.parent, g.state, waiting ? g.wait_reason : 0,
                                                          g.gopc, g.start_pc, waiting ? saved_stack(g) : 0),
                               g.labels);
    if (!st) return st;
  }
  return Ok{};
}

Result<GoroutineList> EventDecoder::read_goroutines(uint32_t max_retries) {
  auto allgs = binary_.allgs_address();
  if (!allgs) {
    return make_error(fmt::format("cannot find runtime.allgs in {}", binary_.path()),
                      "goroutines that existed before attach cannot be listed; record by launching instead");
  }
  GoroutineList out;
  // Kept across reads: at 100 000 goroutines, fresh buffers cost more page faults than the reads.
  std::vector<uint64_t>& ptrs = list_ptrs_;
  std::vector<uint8_t>& bytes = list_bytes_;
  std::vector<ReadRange>& ranges = list_ranges_;
  // Memory that cannot be read is counted (the program is likely exiting), not an error.
  auto unreadable = [&] {
    out.live.clear();
    out.unreadable = std::max<size_t>(out.unreadable, 1);
    out.list_unreadable = true;
    return out;
  };
  uint64_t hdr[2];
  if (!memory_.read(*allgs + bias_, hdr, sizeof hdr)) return unreadable();
  while (true) {
    const uint64_t len = std::min<uint64_t>(hdr[1], 10'000'000);
    ptrs.resize(len);
    if (len && !memory_.read(hdr[0], ptrs.data(), len * 8)) return unreadable();
    bytes.resize(len * g_read_size_);
    ranges.clear();
    for (uint64_t i = 0; i < len; i++) ranges.push_back({ptrs[i], bytes.data() + i * g_read_size_, g_read_size_});
    out.unreadable = memory_.read_many(ranges);
    uint64_t again[2];
    if (!memory_.read(*allgs + bias_, again, sizeof again)) return unreadable();
    if ((again[0] == hdr[0] && again[1] == hdr[1]) || out.retries >= max_retries) break;
    out.retries++;
    hdr[0] = again[0], hdr[1] = again[1];
  }
  out.allglen = ptrs.size();
  out.live.reserve(ptrs.size());
  GView g;
  for (size_t i = 0; i < ptrs.size(); i++) {
    std::memcpy(g.bytes, bytes.data() + i * g_read_size_, g_read_size_);
    const replay::GoState state = state_of(g.u32(off_status_));
    const uint64_t goid = g.u64(off_goid_);
    if (state == replay::GoState::Dead || goid == 0) continue;
    if (!layout_confirmed_) {
      if (auto st = check_live_g(g, "a goroutine in runtime.allgs"); !st) return st.error();
    }
    GoroutineSample s;
    s.goid = goid;
    s.parent = off_parent_ >= 0 ? g.u64(off_parent_) : 0;
    s.state = state;
    s.wait_reason = state == replay::GoState::Waiting ? g.u8(off_waitreason_) : 0;
    s.gopc = g.u64(off_gopc_) - bias_;
    s.start_pc = g.u64(off_startpc_) - bias_;
    s.sched_pc = g.u64(off_sched_pc_), s.sched_bp = g.u64(off_sched_bp_), s.stack_hi = g.u64(off_stack_hi_);
    s.labels = labels_of(g);
    out.live.push_back(s);
  }
  if (!out.live.empty()) layout_confirmed_ = true;
  return out;
}

}  // namespace gorepro::tracer
