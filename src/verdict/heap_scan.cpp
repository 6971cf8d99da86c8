#include "verdict/heap_scan.h"

#include <elf.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "dwarf/pclntab.h"
#include "dwarf/probe_layout.h"
#include "dwarf/stackmap.h"
#include "verdict/read_ahead.h"
#include "verdict/wait_detail.h"

namespace gorepro::verdict {

namespace {

using replay::Verdict;

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t u64_at(const std::vector<uint8_t>& b, size_t off) {
  uint64_t v = 0;
  if (off + 8 <= b.size()) std::memcpy(&v, b.data() + off, 8);
  return v;
}

// What a wait reason means for the verdict.
enum class WaitKind {
  kChannel,   // chan send/receive, select: the channels of g.waiting's sudogs
  kNothing,   // nil channel, select {}: nothing can ever wake it
  kSema,      // Mutex, RWMutex, WaitGroup, semacquire: the semaphore in runtime.semtable
  kCond,      // sync.Cond.Wait: the Cond's notify list
  kTimeIo,    // sleep, timers, the netpoller: the runtime wakes it
  kOther,     // the runtime's own waits, coroutines…: cannot tell; assumed to wake
};

WaitKind wait_kind(const std::string& reason) {
  if (reason == "chan receive (nil chan)" || reason == "chan send (nil chan)" || reason == "select (no cases)") {
    return WaitKind::kNothing;
  }
  if (reason == "chan receive" || reason == "chan send" || reason == "select") return WaitKind::kChannel;
  if (is_semaphore_wait(reason)) return WaitKind::kSema;
  if (reason == "sync.Cond.Wait") return WaitKind::kCond;
  if (reason == "sleep" || reason == "IO wait" || reason == "timer goroutine (idle)") {
    return WaitKind::kTimeIo;
  }
  return WaitKind::kOther;
}

// A receive (or select) that a pending timer will end — time.After, a Timer's or a Ticker's
// channel among the ones it waits on — waits on time: sets its verdict and evidence.
bool time_wait(WaitDetail& detail, const std::string& reason, replay::GoroutineVerdict& v) {
  if (reason == "chan send") return false;  // a timer only sends
  for (uint64_t c : v.objects) {
    if (auto when = detail.timer_due(c)) {
      v.verdict = Verdict::kTimeIo;
      v.evidence = fmt::format("{} on 0x{:x}, a timer's channel, {}", reason, c, detail.due(*when));
      return true;
    }
  }
  return false;
}

constexpr uint32_t kStreamed = UINT32_MAX;

struct Span {
  uint64_t start = 0, limit = 0, elemsize = 0;
  uint64_t slots_end = 0;  // start + nelems * elemsize: past it, the span's unused tail
  // The slot of offset x is (x * div_mul) >> 64 — exact for x * elemsize < 2^64, so for every
  // span under 4 GiB (the runtime's divMagic in 64 bits); 0: divide.
  uint64_t div_mul = 0;
  uint64_t first_bit = 0;         // this span's slots' index in the mark bitmap
  // The window it is read in (plan_windows), and where in the window's buffer; kStreamed: its
  // objects are read one by one (big objects, noscan spans, spans that could not be read).
  uint32_t window = kStreamed;
  uint32_t loaded = 0;  // == Scanner::epoch_: its bytes are in window_buf_ now
  bool pending = false;  // holds marked objects not scanned yet, waiting for its window
  uint64_t window_at = 0;
  bool noscan = false;
  uint64_t slot_of(uint64_t x) const {
    return div_mul ? static_cast<uint64_t>((static_cast<unsigned __int128>(x) * div_mul) >> 64) : x / elemsize;
  }
};

struct G {
  uint64_t addr = 0, goid = 0, status = 0, reason = 0;
  uint64_t stack_lo = 0, stack_hi = 0, sched_sp = 0, waiting = 0, m = 0;
  // What runtime.scanstack reads besides the frames (0 where the layout lacks the field).
  uint64_t sched_pc = 0, ctxt = 0, defers = 0, panics = 0, syscall_sp = 0, syscall_pc = 0;
};

struct Obj {  // an object to scan: slot `slot` of spans_[span]
  uint32_t span, slot;
};

class Scanner {
 public:
  Scanner(const GoBinary& b, const TargetMemory& m, uint64_t bias, uint64_t window)
      : binary_(b), mem_(m), bias_(bias), l_(b.layout()), window_bytes_(window), ahead_reader_(m) {}
  ~Scanner() {
    ahead_reader_.wait();  // its buffer is about to go
    if (window_map_) munmap(window_map_, window_map_len_);
  }
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  Result<replay::LeakVerdicts> run(std::span<const ThreadRoots> threads, const ScanOptions& options);

 private:
  int64_t off(const char* key) const { return *l_.offset(key); }
  Status check_layout() const;
  Status read_heap();
  // Cuts the in-use spans that may hold pointers into windows of up to window_bytes_, by address.
  void plan_windows();
  // Makes w the window scanned: takes the other buffer when w is another window (the one read
  // ahead into it, if w is that one), reads the pending spans of w not there yet, in runs of
  // adjacent spans (one iovec each), and puts their marked, unscanned objects on the work list.
  // Then starts reading the next window ahead (read_ahead).
  void load_window(uint32_t w);
  // Starts reading, on a second thread, the pending spans of the next window (after window_, in
  // the circular sweep's order) into the buffer not scanned, unless a read is under way.
  void read_ahead();
  // The runs of adjacent spans among `spans` (sorted spans_ indices of one window) whose bytes
  // are not in the buffer at `buf` under `epoch`: one range each, and the spans_ indices of each.
  void runs_of(const std::vector<uint32_t>& spans, uint8_t* buf, uint32_t epoch, std::vector<ReadRange>& ranges,
               std::vector<std::pair<uint32_t, uint32_t>>& runs) const;
  // After a read_many of `ranges` that failed: each range alone; the spans of those that still
  // cannot be read have their objects read one by one instead (unreadable ones count as holding
  // no pointers), so that an unreadable page costs only its own objects.
  void stream_unreadable(const std::vector<ReadRange>& ranges, const std::vector<std::pair<uint32_t, uint32_t>>& runs);
  // Leaves the object at slot of spans_[si] to be scanned when its window is read (its mark bit
  // and clear scanned_ bit say so; the span goes on its window's pending list).
  void defer(uint32_t si) {
    Span& s = spans_[si];
    if (s.pending) return;
    s.pending = true;
    pending_[s.window].push_back(si);
    pending_spans_++;
  }
  Status read_goroutines();
  void read_semaphores();
  // The index in spans_ of the in-use span holding p, or -1.
  int32_t span_of(uint64_t p) const {
    const uint64_t a = ((p - arena_base_offset_) >> arena_shift_) - first_arena_;
    if (a >= arena_slot_.size() || arena_slot_[a] < 0) return -1;
    return pages_[(static_cast<uint64_t>(arena_slot_[a]) << arena_pages_shift_) + ((p >> page_shift_) & arena_page_mask_)];
  }
  // The object slot holding p, as a global index, or -1.
  int64_t object_of(uint64_t p) const;
  // Marks what p points to; puts it on the work list when it is new and may hold pointers.
  void mark_word(uint64_t p);
  void scan_words(const uint8_t* data, size_t len);
  // Scans everything on the work list (and what that marks), until it is empty.
  void drain();
  // Reads the objects in stream_ (spans in no window) in batches of big reads; scans them.
  void stream_objects();
  void scan_range(uint64_t addr, uint64_t len);  // reads and scans a root range, then drains
  void scan_globals();
  // moduledata.gcdatamask and gcbssmask, read from the process (the runtime builds them at
  // start): a bit per word of [start, end), set where the GC sees a pointer; bits empty when
  // they cannot be read.
  struct GlobalMasks {
    struct Mask {
      uint64_t start = 0, end = 0, nbits = 0;
      std::vector<uint8_t> bits;
    };
    Mask data, bss;
  };
  GlobalMasks read_global_masks() const;
  // Scans a goroutine's stack from sp up. With pc (a goroutine stopped at a safe point: g.sched,
  // or a system call's PC/SP), frame by frame through the GC's stack maps (dwarf/stackmap.h),
  // the frames it cannot decode and those above them conservatively; without, all of it
  // conservatively.
  // caller_of_running: (sp, pc) are the caller frame of a running goroutine's innermost one.
  void scan_stack_of(const G& g, uint64_t sp, uint64_t pc = 0, bool caller_of_running = false);
  // A running goroutine, its thread stopped at any instruction (pc, sp): the innermost frame,
  // at no safe point, conservatively (its size from the pcsp table at pc), and the callers of
  // assembly frames too; the other callers, each at a call, through the stack maps. From a
  // frame that cannot be sized, all of it conservatively.
  void scan_running_stack(const G& g, uint64_t sp, uint64_t pc);
  // Where a goroutine in _Grunning (gs_[i]) is scanned from, by its M's thread.
  struct Running {
    size_t i;
    uint64_t sp, pc;           // pc 0: scanned conservatively from sp
    bool interrupted = false;  // pc is a thread's, at any instruction (scan_running_stack)
  };
  // evidence: which thread, and where it was stopped.
  Running running_at(size_t i, std::span<const ThreadRoots> threads, std::string* evidence);
  // The runtime's own Ms, Ps and each M's g0 and gsignal, read through the words the GC treats
  // as pointers only (RuntimeLayout::pointer_words); see docs/verdicts.md, "The runtime's own
  // structures".
  void read_runtime_structs();
  void scan_runtime_structs();

  const GoBinary& binary_;
  const TargetMemory& mem_;
  uint64_t bias_;
  const RuntimeLayout& l_;
  // linux/amd64's values in every supported version; the layout's constants win where DWARF has
  // them (arenaBaseOffset never is: a uint64 constant Go leaves out of DWARF; _PageShift moved to
  // internal/runtime/gc in Go 1.26).
  uint64_t page_shift_ = 13, arena_shift_ = 26, arena_base_offset_ = 0xffff800000000000ull;
  // The page → span table, flat: arena index - first_arena_ → its slot in pages_ (-1: not heap);
  // pages_[slot << arena_pages_shift_ | page in arena] → index in spans_ (-1: no in-use span).
  std::vector<int32_t> arena_slot_, pages_;
  uint64_t first_arena_ = 0, arena_pages_shift_ = 0, arena_page_mask_ = 0;
  static bool bit(const std::vector<uint64_t>& bits, int64_t i) {
    return (bits[uint64_t(i) / 64] >> (uint64_t(i) % 64)) & 1;
  }
  static void set_bit(std::vector<uint64_t>& bits, int64_t i) { bits[uint64_t(i) / 64] |= 1ull << (uint64_t(i) % 64); }
  uint64_t heap_lo_ = UINT64_MAX, heap_hi_ = 0;
  std::vector<Span> spans_;  // by address
  std::vector<uint64_t> marks_;
  std::vector<uint64_t> opaque_;        // bits: g structs and sudogs, marked but never scanned
  std::vector<uint64_t> wait_objects_;  // bits: objects blocked goroutines wait on
  std::unordered_map<int64_t, std::string> reached_by_;  // wait objects: who marked them first
  struct Range {
    uint64_t addr, len;
  };
  std::vector<Obj> work_, stream_;
  // The heap is read a window at a time into two buffers, reused: one is scanned while the next
  // window is read into the other (the process is stopped: its threads leave a CPU free).
  // gorepro's memory stays 2 windows whatever the heap's size, and no fresh page is faulted in
  // (and zeroed) per byte read.
  const uint64_t window_bytes_;
  void* window_map_ = nullptr;
  uint64_t window_map_len_ = 0;
  uint8_t* window_bufs_[2] = {nullptr, nullptr};  // in window_map_, 2 MiB-aligned
  uint8_t* window_buf_ = nullptr;                 // the one scanned
  uint8_t* other_buf() const { return window_buf_ == window_bufs_[0] ? window_bufs_[1] : window_bufs_[0]; }
  // The window in window_buf_ and the epoch it was loaded under (Span::loaded); epochs_ the last
  // epoch handed out (a buffer's every new window takes a new one).
  uint32_t window_ = kStreamed, epoch_ = 1, epochs_ = 1;
  // The window being read into other_buf() under ahead_epoch_ (kStreamed: none), and its ranges.
  uint32_t ahead_ = kStreamed, ahead_epoch_ = 0;
  std::vector<ReadRange> ahead_ranges_;
  std::vector<std::pair<uint32_t, uint32_t>> ahead_runs_;
  ReadAhead ahead_reader_;
  static constexpr uint64_t kAheadMin = 256 << 10;  // less is read in load_window
  // Per window: spans with marked objects waiting for it (the objects themselves are the marked,
  // not opaque, not scanned_ slots: no per-object list, whatever the heap's size).
  std::vector<std::vector<uint32_t>> pending_;
  size_t pending_spans_ = 0;
  std::vector<uint64_t> scanned_;  // bits: objects of windowed spans already scanned
  std::vector<uint8_t> buf_;  // reads of roots and streamed objects
  std::string label_;
  uint64_t bytes_scanned_ = 0, heap_bytes_ = 0;
  std::vector<G> gs_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> sema_of_;  // g address → semaphore addresses
  std::vector<uint64_t> sudogs_;
  struct Precise {
    uint64_t addr;
    const char* type;
    const std::vector<int64_t>* words;
  };
  std::vector<Precise> precise_;
  std::unordered_set<uint64_t> precise_globals_;  // of precise_, those that are globals (m0, g0)
};

Status Scanner::check_layout() const {
  static const char* const kNeeded[] = {
      "mheap.arenas",  "mheap.allArenas", "heapArena.spans", "mspan.startAddr", "mspan.npages", "mspan.elemsize",
      "mspan.spanclass", "mspan.state",   "sudog.g",         "sudog.next",      "sudog.prev",   "sudog.waitlink",
      "sudog.c",       "sudog.elem",      "g.waiting",       "g.stack.lo",      "g.stack.hi",   "g.sched.sp",
  };
  for (const char* k : kNeeded) {
    if (!l_.offset(k)) {
      return make_error(fmt::format("no leak verdicts: the runtime layout of {} lacks {}", l_.go_minor, k),
                        "regenerate the layout table (scripts/gen-layout-table.sh) or build with DWARF");
    }
  }
  if (!binary_.mheap_address()) {
    return make_error("no leak verdicts: cannot find runtime.mheap_ (not in the symbol table, nor in mallocinit's code)",
                      "build without -ldflags=-s to get verdicts");
  }
  return Ok{};
}

Status Scanner::read_heap() {
  if (auto c = l_.constant("_PageShift")) page_shift_ = static_cast<uint64_t>(*c);
  if (auto c = l_.constant("logHeapArenaBytes")) arena_shift_ = static_cast<uint64_t>(*c);
  if (auto c = l_.constant("arenaBaseOffset")) arena_base_offset_ = static_cast<uint64_t>(*c);
  if (auto c = l_.constant("arenaL1Bits"); c && *c != 0) {
    return make_error("no leak verdicts: this runtime has a two-level arena map (arenaL1Bits != 0)", "");
  }
  const uint64_t in_use = static_cast<uint64_t>(l_.constant("mSpanInUse").value_or(1));
  const uint64_t pages_per_arena = 1ull << (arena_shift_ - page_shift_);
  const uint64_t mheap = *binary_.mheap_address() + bias_;
  uint64_t l2 = 0, all[2] = {0, 0};
  if (!mem_.read_u64(mheap + off("mheap.arenas"), &l2) || !mem_.read(mheap + off("mheap.allArenas"), all, 16) ||
      !l2) {
    return make_error("no leak verdicts: cannot read the runtime's heap arena map", "");
  }
  std::vector<uint64_t> idx(std::min<uint64_t>(all[1], 1 << 20));
  if (!idx.empty() && !mem_.read(all[0], idx.data(), idx.size() * 8)) {
    return make_error("no leak verdicts: cannot read mheap_.allArenas", "");
  }
  std::vector<uint64_t> heap_arenas(idx.size());
  std::vector<ReadRange> ranges;
  for (size_t i = 0; i < idx.size(); i++) ranges.push_back({l2 + idx[i] * 8, &heap_arenas[i], 8});
  mem_.read_many(ranges);
  // Every arena's page → span table in one batch.
  std::vector<uint64_t> page_spans(idx.size() * pages_per_arena);
  ranges.clear();
  for (size_t i = 0; i < idx.size(); i++) {
    if (heap_arenas[i]) {
      ranges.push_back({heap_arenas[i] + off("heapArena.spans"), &page_spans[i * pages_per_arena], pages_per_arena * 8});
    }
  }
  mem_.read_many(ranges);
  // Each span once: read their headers.
  std::unordered_map<uint64_t, int32_t> span_index;
  std::vector<uint64_t> span_addrs;
  for (uint64_t s : page_spans) {
    if (s && span_index.emplace(s, -1).second) span_addrs.push_back(s);
  }
  const int64_t hdr_len = std::max({off("mspan.startAddr"), off("mspan.npages"), off("mspan.elemsize"),
                                    off("mspan.spanclass"), off("mspan.state")}) + 8;
  std::vector<uint8_t> hdrs(span_addrs.size() * hdr_len);
  ranges.clear();
  for (size_t i = 0; i < span_addrs.size(); i++) ranges.push_back({span_addrs[i], &hdrs[i * hdr_len], size_t(hdr_len)});
  mem_.read_many(ranges);
  std::vector<std::pair<Span, uint64_t>> found;  // (span, its mspan's address)
  for (size_t i = 0; i < span_addrs.size(); i++) {
    const uint8_t* h = &hdrs[i * hdr_len];
    uint64_t start, npages, elemsize;
    std::memcpy(&start, h + off("mspan.startAddr"), 8);
    std::memcpy(&npages, h + off("mspan.npages"), 8);
    std::memcpy(&elemsize, h + off("mspan.elemsize"), 8);
    const uint8_t state = h[off("mspan.state")], spanclass = h[off("mspan.spanclass")];
    if (state != in_use || !elemsize || !npages || npages > (1ull << 40)) continue;
    Span s;
    s.start = start;
    s.limit = start + (npages << page_shift_);
    s.elemsize = elemsize;
    s.slots_end = start + (s.limit - start) / elemsize * elemsize;
    if (s.limit - start < (1ull << 32)) s.div_mul = ~0ull / elemsize + 1;
    s.noscan = (spanclass & 1) != 0;
    found.emplace_back(s, span_addrs[i]);
  }
  // By address: neighbours in spans_ are neighbours in memory (and in a window, plan_windows).
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first.start < b.first.start; });
  uint64_t bits = 0;
  for (auto& [s, addr] : found) {
    s.first_bit = bits;
    bits += (s.limit - s.start) / s.elemsize;
    span_index[addr] = static_cast<int32_t>(spans_.size());
    spans_.push_back(s);
    heap_bytes_ += s.limit - s.start;
  }
  marks_.assign(bits / 64 + 1, 0);
  opaque_ = wait_objects_ = marks_;
  if (!idx.empty()) {
    const auto [lo, hi] = std::minmax_element(idx.begin(), idx.end());
    if (*hi - *lo >= (1u << 20)) return make_error("no leak verdicts: the heap's arenas are spread too widely", "");
    first_arena_ = *lo;
    arena_slot_.assign(*hi - *lo + 1, -1);
  }
  arena_pages_shift_ = arena_shift_ - page_shift_;
  arena_page_mask_ = pages_per_arena - 1;
  for (size_t i = 0; i < idx.size(); i++) {
    std::vector<int32_t> pages(pages_per_arena, -1);
    bool any = false;
    for (uint64_t p = 0; p < pages_per_arena; p++) {
      const uint64_t s = page_spans[i * pages_per_arena + p];
      if (s) pages[p] = span_index[s], any |= pages[p] >= 0;
    }
    if (!any || arena_slot_[idx[i] - first_arena_] >= 0) continue;
    const uint64_t base = (idx[i] << arena_shift_) + arena_base_offset_;
    heap_lo_ = std::min(heap_lo_, base);
    heap_hi_ = std::max<uint64_t>(heap_hi_, base + (uint64_t{1} << arena_shift_));
    arena_slot_[idx[i] - first_arena_] = static_cast<int32_t>(pages_.size() >> arena_pages_shift_);
    pages_.insert(pages_.end(), pages.begin(), pages.end());
  }
  plan_windows();
  return Ok{};
}

void Scanner::plan_windows() {
  // Spans bigger than a quarter window (large objects, one per span) are streamed in pieces.
  const uint64_t window = window_bytes_;
  uint64_t used = window;
  for (Span& s : spans_) {
    const uint64_t len = s.limit - s.start;
    if (s.noscan || len > window / 4) continue;
    if (used + len > window) pending_.emplace_back(), used = 0;
    s.window = static_cast<uint32_t>(pending_.size() - 1);
    s.window_at = used;
    used += len;
  }
  if (pending_.empty()) return;
  scanned_.assign(marks_.size(), 0);
  // 2 MiB-aligned and asking for huge pages: filling a 32 MiB window the first time costs 16
  // page faults, not 8192 (the kernel zeroes the memory either way).
  constexpr uint64_t kHuge = 2 << 20;
  const uint64_t stride = (window + kHuge - 1) & ~(kHuge - 1);
  const uint64_t len = 2 * stride + kHuge;
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    for (Span& s : spans_) s.window = kStreamed;
    pending_.clear();
    return;
  }
  window_map_ = m, window_map_len_ = len;
  window_bufs_[0] = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(m) + kHuge - 1) & ~(kHuge - 1));
  window_bufs_[1] = window_bufs_[0] + stride;
  window_buf_ = window_bufs_[0];
  madvise(window_bufs_[0], 2 * stride, MADV_HUGEPAGE);
}

void Scanner::runs_of(const std::vector<uint32_t>& spans, uint8_t* buf, uint32_t epoch, std::vector<ReadRange>& ranges,
                      std::vector<std::pair<uint32_t, uint32_t>>& runs) const {
  // Adjacent spans (in memory, and so in the window) read as one range.
  for (uint32_t i : spans) {
    const Span& s = spans_[i];
    if (s.loaded == epoch) continue;
    if (!runs.empty() && runs.back().second + 1 == i && spans_[i - 1].limit == s.start) {
      runs.back().second = i;
      ranges.back().len += s.limit - s.start;
      continue;
    }
    runs.emplace_back(i, i);
    ranges.push_back({s.start, buf + s.window_at, s.limit - s.start});
  }
}

void Scanner::stream_unreadable(const std::vector<ReadRange>& ranges,
                                const std::vector<std::pair<uint32_t, uint32_t>>& runs) {
  for (size_t k = 0; k < ranges.size(); k++) {
    if (mem_.read(ranges[k].addr, ranges[k].buf, ranges[k].len)) continue;
    for (uint32_t i = runs[k].first; i <= runs[k].second; i++) spans_[i].window = kStreamed;
  }
}

void Scanner::load_window(uint32_t w) {
  if (w != window_) {
    window_buf_ = other_buf();
    window_ = w;
    if (w == ahead_) {  // read ahead into that buffer: wait for the reader, take its epoch
      const size_t failed = ahead_reader_.wait();
      epoch_ = ahead_epoch_;
      ahead_ = kStreamed;
      if (failed) stream_unreadable(ahead_ranges_, ahead_runs_);
    } else {
      GOREPRO_CHECK(!ahead_reader_.busy(), "a window loaded into the buffer being read ahead");
      epoch_ = ++epochs_;
    }
  }
  std::vector<uint32_t> spans;
  spans.swap(pending_[w]);
  pending_spans_ -= spans.size();
  std::sort(spans.begin(), spans.end());
  // The spans that became pending since the read ahead started (or all of them): read now.
  std::vector<ReadRange> ranges;
  std::vector<std::pair<uint32_t, uint32_t>> runs;  // spans_ indices of each range
  runs_of(spans, window_buf_, epoch_, ranges, runs);
  if (mem_.read_many(ranges) != 0) stream_unreadable(ranges, runs);
  for (uint32_t i : spans) {
    Span& s = spans_[i];
    s.loaded = epoch_;
    s.pending = false;
    const uint64_t n = (s.slots_end - s.start) / s.elemsize;
    for (uint64_t slot = 0; slot < n; slot++) {
      const int64_t obj = static_cast<int64_t>(s.first_bit + slot);
      if (bit(marks_, obj) && !bit(scanned_, obj) && !bit(opaque_, obj)) {
        work_.push_back({i, static_cast<uint32_t>(slot)});
      }
    }
  }
  read_ahead();
}

void Scanner::read_ahead() {
  if (ahead_reader_.busy() || pending_.empty() || pending_spans_ == 0) return;
  const uint32_t n = static_cast<uint32_t>(pending_.size());
  uint32_t w = window_ == kStreamed ? 0 : (window_ + 1) % n;
  for (uint32_t k = 0; k < n && (w == window_ || pending_[w].empty()); k++) w = (w + 1) % n;
  if (w == window_ || pending_[w].empty()) return;
  // A few spans are read when their window is loaded: a thread costs more than reading them.
  uint64_t bytes = 0;
  for (uint32_t i : pending_[w]) bytes += spans_[i].limit - spans_[i].start;
  if (bytes < std::min<uint64_t>(kAheadMin, window_bytes_ / 4)) return;
  // Its spans stay pending (marks into them are deferred) until load_window takes the buffer.
  std::vector<uint32_t> spans = pending_[w];
  std::sort(spans.begin(), spans.end());
  ahead_ranges_.clear();
  ahead_runs_.clear();
  ahead_epoch_ = ++epochs_;
  runs_of(spans, other_buf(), ahead_epoch_, ahead_ranges_, ahead_runs_);
  for (uint32_t i : spans) spans_[i].loaded = ahead_epoch_;
  ahead_ = w;
  ahead_reader_.start(ahead_ranges_);
}

int64_t Scanner::object_of(uint64_t p) const {
  if (p < heap_lo_ || p >= heap_hi_) return -1;
  const int32_t si = span_of(p);
  if (si < 0) return -1;
  const Span& s = spans_[static_cast<size_t>(si)];
  if (p < s.start || p >= s.slots_end) return -1;  // past slots_end: the span's unused tail
  return static_cast<int64_t>(s.first_bit + s.slot_of(p - s.start));
}

void Scanner::mark_word(uint64_t p) {
  if (p < heap_lo_ || p >= heap_hi_) return;
  const int32_t si = span_of(p);
  if (si < 0) return;
  const Span& s = spans_[static_cast<size_t>(si)];
  if (p < s.start || p >= s.slots_end) return;
  const uint64_t slot = s.slot_of(p - s.start);
  const int64_t obj = static_cast<int64_t>(s.first_bit + slot);
  if (bit(marks_, obj)) return;
  set_bit(marks_, obj);
  if (bit(wait_objects_, obj)) reached_by_.emplace(obj, label_);
  if (bit(opaque_, obj) || s.noscan) return;
  if (s.window == kStreamed || (s.window == window_ && s.loaded == epoch_)) {
    work_.push_back({static_cast<uint32_t>(si), static_cast<uint32_t>(slot)});
  } else {
    defer(static_cast<uint32_t>(si));
  }
}

void Scanner::scan_words(const uint8_t* data, size_t len) {
  bytes_scanned_ += len;
  const size_t n = len / 8;
  const uint64_t lo = heap_lo_, span = heap_hi_ - heap_lo_;
  for (size_t i = 0; i < n; i++) {
    uint64_t w;
    std::memcpy(&w, data + i * 8, 8);
    if (w - lo < span) mark_word(w);
  }
}

void Scanner::drain() {
  constexpr uint64_t kStreamBatch = 16 << 20;
  uint64_t streamed = 0;
  while (true) {
    while (!work_.empty()) {
      const Obj o = work_.back();
      work_.pop_back();
      const Span& s = spans_[o.span];
      if (s.window == kStreamed) {
        stream_.push_back(o);
        if ((streamed += s.elemsize) >= kStreamBatch) stream_objects(), streamed = 0;
      } else if (s.window == window_ && s.loaded == epoch_) {
        const int64_t obj = static_cast<int64_t>(s.first_bit + o.slot);
        if (bit(scanned_, obj)) continue;
        set_bit(scanned_, obj);
        scan_words(window_buf_ + s.window_at + o.slot * s.elemsize, s.elemsize);
      } else {
        defer(o.span);
      }
    }
    if (!stream_.empty()) {
      stream_objects(), streamed = 0;
      continue;
    }
    if (!pending_spans_) return;
    // The window in the buffer first (only its missing spans are read), then the one read
    // ahead, else the next one up that has spans pending, in a circular sweep.
    uint32_t w = window_;
    if (w == kStreamed || pending_[w].empty()) w = ahead_ != kStreamed ? ahead_ : window_ == kStreamed ? 0 : window_;
    while (pending_[w].empty()) w = (w + 1) % static_cast<uint32_t>(pending_.size());
    load_window(w);
  }
}

void Scanner::stream_objects() {
  // Objects (big ones in kChunk pieces) by address; neighbours read as one range (gaps up to
  // kGap read along, not scanned): a heap of small live objects costs a few large reads, not one
  // iovec per object. Read and scanned kBatch bytes at a time.
  constexpr uint64_t kChunk = 1 << 20, kGap = 4096, kBatch = 16 << 20;
  std::vector<Range> pieces;
  for (const Obj& o : stream_) {
    const Span& s = spans_[o.span];
    const uint64_t addr = s.start + o.slot * s.elemsize;
    for (uint64_t at = 0; at < s.elemsize; at += kChunk) pieces.push_back({addr + at, std::min(kChunk, s.elemsize - at)});
  }
  stream_.clear();
  std::sort(pieces.begin(), pieces.end(), [](const Range& a, const Range& b) { return a.addr < b.addr; });
  std::vector<Range> reads;
  std::vector<ReadRange> ranges;
  size_t p = 0;
  while (p < pieces.size()) {
    const size_t first = p;
    uint64_t bytes = 0;
    reads.clear();
    for (; p < pieces.size() && bytes < kBatch; p++) {
      const Range& r = pieces[p];
      if (!reads.empty() && r.addr <= reads.back().addr + reads.back().len + kGap &&
          r.addr + r.len - reads.back().addr <= kChunk) {
        const uint64_t end = std::max(reads.back().addr + reads.back().len, r.addr + r.len);
        bytes += end - (reads.back().addr + reads.back().len);
        reads.back().len = end - reads.back().addr;
      } else {
        reads.push_back(r);
        bytes += r.len;
      }
    }
    buf_.resize(bytes);
    ranges.clear();
    uint64_t at = 0;
    for (const Range& r : reads) {
      ranges.push_back({r.addr, buf_.data() + at, r.len});
      at += r.len;
    }
    mem_.read_many(ranges);  // unreadable ranges come back zero: nothing marked from them
    size_t k = 0;
    at = 0;
    for (size_t q = first; q < p; q++) {
      const Range& r = pieces[q];
      while (r.addr >= reads[k].addr + reads[k].len) at += reads[k++].len;
      scan_words(buf_.data() + at + (r.addr - reads[k].addr), r.len);
    }
    read_ahead();  // a window this batch marked into, while the next batch is read and scanned
  }
}

void Scanner::scan_range(uint64_t addr, uint64_t len) {
  constexpr uint64_t kChunk = 1 << 20;
  addr &= ~7ull;
  len = (len + 7) & ~7ull;
  for (uint64_t at = 0; at < len; at += kChunk) {
    const uint64_t n = std::min(kChunk, len - at);
    buf_.resize(n);
    if (mem_.read(addr + at, buf_.data(), n)) scan_words(buf_.data(), n);  // unreadable: nothing marked
  }
  drain();
}

Scanner::GlobalMasks Scanner::read_global_masks() const {
  GlobalMasks out;
  const char* keys[] = {"moduledata.data", "moduledata.edata", "moduledata.bss", "moduledata.ebss",
                        "moduledata.gcdatamask.n", "moduledata.gcdatamask.bytedata", "moduledata.gcbssmask.n",
                        "moduledata.gcbssmask.bytedata"};
  int64_t len = 0;
  for (const char* k : keys) {
    if (!l_.offset(k)) return out;
    len = std::max(len, *l_.offset(k) + 8);
  }
  const auto md = Pclntab::find_moduledata(binary_.elf());
  std::vector<uint8_t> b(static_cast<size_t>(len));
  if (!md || !mem_.read(*md + bias_, b.data(), b.size())) return out;
  const auto at = [&](const char* k) { return u64_at(b, static_cast<size_t>(off(k))); };
  const auto one = [&](const char* start, const char* end, const char* n, const char* bytes) {
    // bitvector.n (an int32): the bits the runtime's GC program wrote, a bit per word from start.
    GlobalMasks::Mask m{at(start), at(end), at(n) & 0xffffffff, {}};
    // The runtime builds the masks in modulesinit; before (or if it is damaged): none.
    if (m.end < m.start || !m.nbits || m.nbits > (m.end - m.start) / 8 || !at(bytes)) return m;
    m.bits.resize((m.nbits + 7) / 8);
    if (!mem_.read(at(bytes), m.bits.data(), m.bits.size())) m.bits.clear();
    return m;
  };
  out.data = one("moduledata.data", "moduledata.edata", "moduledata.gcdatamask.n", "moduledata.gcdatamask.bytedata");
  out.bss = one("moduledata.bss", "moduledata.ebss", "moduledata.gcbssmask.n", "moduledata.gcbssmask.bytedata");
  return out;
}

void Scanner::scan_globals() {
  // Writable allocated sections (.noptrdata .data .bss .noptrbss): read whole, scanned symbol by
  // symbol so that what a global reaches is credited to it. Where the runtime's own pointer
  // masks of .data and .bss could be read (moduledata.gcdatamask/gcbssmask, what markrootBlock
  // scans by), the words they call non-pointers are zeroed first, and .noptrdata/.noptrbss —
  // which the GC never scans — are left out; elsewhere every word counts.
  const GlobalMasks masks = read_global_masks();
  const bool precise = !masks.data.bits.empty() && !masks.bss.bits.empty();
  std::vector<const ElfSymbol*> syms;
  for (const ElfSymbol& s : binary_.elf().symbols()) {
    if (s.type == STT_OBJECT && s.size) syms.push_back(&s);
  }
  std::sort(syms.begin(), syms.end(), [](auto* a, auto* b) { return a->value < b->value; });
  for (const ElfSection& sec : binary_.elf().sections()) {
    if (!(sec.flags & SHF_ALLOC) || !(sec.flags & SHF_WRITE) || !sec.size) continue;
    if (precise && (sec.name == ".noptrdata" || sec.name == ".noptrbss")) continue;
    std::vector<uint8_t> data(sec.size & ~7ull);
    if (!mem_.read(sec.addr + bias_, data.data(), data.size())) continue;
    if (precise) {
      for (const GlobalMasks::Mask* m : {&masks.data, &masks.bss}) {
        for (uint64_t a = std::max(m->start, sec.addr + bias_); a + 8 <= std::min(m->end, sec.addr + bias_ + data.size());
             a += 8) {
          const uint64_t w = (a - m->start) / 8;  // past nbits: left as it is (conservative)
          if (w < m->nbits && !((m->bits[w / 8] >> (w % 8)) & 1)) std::memset(data.data() + (a - sec.addr - bias_), 0, 8);
        }
      }
    }
    auto it = std::lower_bound(syms.begin(), syms.end(), sec.addr, [](auto* s, uint64_t a) { return s->value < a; });
    uint64_t at = 0;
    while (at < data.size()) {
      uint64_t end = data.size();
      if (it != syms.end() && (*it)->value < sec.addr + data.size()) {
        const uint64_t sym_at = (*it)->value - sec.addr;
        if (sym_at > at) {
          end = sym_at;  // the gap before the next symbol
          label_ = fmt::format("global data in {}", sec.name);
        } else {
          end = std::min<uint64_t>(data.size(), sym_at + (*it)->size);
          label_ = "global " + (*it)->name;
          const bool precise = precise_globals_.count((*it)->value + bias_) != 0;
          ++it;
          if (precise) {  // read through its pointer words by scan_runtime_structs
            at = std::max<uint64_t>(end, at + 8) & ~7ull;
            continue;
          }
        }
      } else {
        label_ = fmt::format("global data in {}", sec.name);
      }
      end = std::max<uint64_t>(end, at + 8) & ~7ull;
      end = std::min<uint64_t>(end, data.size());
      if (end <= at) break;
      scan_words(data.data() + at, end - at);
      drain();
      at = end;
    }
  }
}

void Scanner::scan_running_stack(const G& g, uint64_t sp, uint64_t pc) {
  label_ = fmt::format("stack of goroutine {}", g.goid);
  const Pclntab& tab = binary_.pclntab();
  // The innermost frame, at no safe point, conservatively; and while a frame is assembly, its
  // caller too: Go code calls assembly (write barriers, duffzero…) between safe points, where no
  // stack map describes the caller (runtime.isAsyncSafePoint never stops there for that reason).
  for (int depth = 0; depth < 16; depth++) {
    const Pclntab::Function* f = pc > bias_ ? tab.function_at(pc - bias_) : nullptr;
    // Frames that write SP (systemstack, morestack…) have no size to trust at every instruction;
    // asyncPreempt and its kind hold a caller at no safe point either.
    const auto delta = f && !(tab.flag(*f) & kFuncFlagSPWrite) && !interrupts_a_frame(f->name)
                           ? tab.sp_delta(*f, pc - bias_)
                           : std::nullopt;
    // The frame and its return address: [sp, sp + delta + 8).
    const uint64_t caller_sp = delta && *delta >= 0 ? sp + static_cast<uint64_t>(*delta) + 8 : 0;
    uint64_t ret = 0;
    if (!caller_sp || caller_sp >= g.stack_hi || !mem_.read_u64(caller_sp - 8, &ret) || !ret) break;
    scan_range(sp, caller_sp - sp);
    drain();
    sp = caller_sp, pc = ret;
    if (!(tab.flag(*f) & kFuncFlagAsm)) return scan_stack_of(g, sp, pc, true);
  }
  scan_stack_of(g, sp, 0);
}

void Scanner::scan_stack_of(const G& g, uint64_t sp, uint64_t pc, bool caller_of_running) {
  label_ = fmt::format("stack of goroutine {}", g.goid);
  const uint64_t lo = g.stack_lo, hi = g.stack_hi;
  if (hi <= lo || hi - lo > (1ull << 30)) return;
  if (sp < lo || sp >= hi) sp = lo, pc = 0;
  // Without the fields runtime.scanstack reads besides the frames (a table generated before
  // them), or during a panic (its records point into the stack): all of it conservatively.
  if (!l_.offset("g.sched.ctxt") || !l_.offset("g._defer") || !l_.offset("_defer.fn") || !l_.offset("_defer.link") ||
      g.panics) {
    pc = 0;
  }
  // Only the states runtime.scanstack scans a stack in (their PC/SP saved at a safe point); a
  // goroutine between states (_Gcopystack…) is scanned whole.
  const auto is = [&](const char* name, int64_t dflt) { return g.status == uint64_t(l_.constant(name).value_or(dflt)); };
  if (!caller_of_running && !is("_Grunnable", 1) && !is("_Gsyscall", 3) && !is("_Gwaiting", 4) &&
      !is("_Gpreempted", 9) && !(l_.constant("_Gleaked") && is("_Gleaked", -1))) {
    pc = 0;
  }
  if (!pc) {
    mark_word(g.ctxt);
    scan_range(sp, hi - sp);
    return;
  }
  std::vector<uint8_t> stack((hi - sp) & ~7ull);
  if (!mem_.read(sp, stack.data(), stack.size())) {  // a part unreadable: the safe way, in pieces
    scan_range(sp, hi - sp);
    return;
  }
  const StackRoots roots = stack_roots(binary_.pclntab(), bias_, stack, sp, sp + stack.size(), pc);
  bytes_scanned_ += stack.size();
  // A word pointing into this stack may reach a stack object (an address-taken variable), which
  // is scanned then, as the GC does; any other word is marked as a heap pointer.
  std::vector<uint64_t> into_stack;
  auto take = [&](uint64_t w) {
    if (w >= lo && w < hi) {
      into_stack.push_back(w);
    } else {
      mark_word(w);
    }
  };
  auto word = [&](uint64_t addr) {
    uint64_t w = 0;
    if (addr >= sp && addr + 8 <= sp + stack.size()) std::memcpy(&w, stack.data() + (addr - sp), 8);
    return w;
  };
  for (uint64_t slot : roots.pointer_slots) take(word(slot));
  for (uint64_t a = roots.conservative_from; a + 8 <= sp + stack.size(); a += 8) take(word(a));
  // runtime.scanstack's other roots: the saved closure context, each defer record's func and
  // link (either may be a stack-allocated closure or record) and the record itself.
  take(g.ctxt);
  uint64_t d = g.defers;
  for (int n = 0; d && n < 100'000; n++) {
    uint64_t fn = 0, link = 0;
    if (d >= sp && d < sp + stack.size()) {
      fn = word(d + off("_defer.fn")), link = word(d + off("_defer.link"));
    } else if (!mem_.read_u64(d + off("_defer.fn"), &fn) || !mem_.read_u64(d + off("_defer.link"), &link)) {
      break;
    }
    mark_word(d);
    take(fn);
    take(link);
    d = link;
  }
  // Stack objects reached, scanned whole over their pointer-holding prefix (conservatively:
  // their types' bitmaps are not read).
  std::vector<bool> done(roots.objects.size());
  while (!into_stack.empty()) {
    const uint64_t p = into_stack.back();
    into_stack.pop_back();
    for (size_t i = 0; i < roots.objects.size(); i++) {
      const StackRoots::Object& o = roots.objects[i];
      if (done[i] || p < o.addr || p >= o.addr + o.size) continue;
      done[i] = true;
      for (uint64_t a = o.addr; a + 8 <= o.addr + o.ptr_bytes; a += 8) take(word(a));
    }
  }
  drain();
}

void Scanner::read_runtime_structs() {
  const auto* m_words = l_.pointers_of("runtime.m");
  const auto* p_words = l_.pointers_of("runtime.p");
  const auto* g_words = l_.pointers_of("runtime.g");
  // Stripped too: found in the runtime's code. Without them (before, on stripped binaries) the
  // Ms and Ps were scanned word by word as heap objects, and their uintptr words (a page cache's
  // base, a stack bound) hid leaks: ctxleak and nestedleak, stripped, in ~1 run of 5.
  const auto allm = binary_.allm_address(), allp = binary_.allp_address();
  if (!m_words || !p_words || !g_words || !allm || !allp || !l_.offset("m.alllink") || !l_.offset("m.gsignal")) {
    return;  // an older table: these structs stay conservatively scanned
  }
  std::unordered_set<uint64_t> seen;
  uint64_t m = 0;
  mem_.read_u64(*allm + bias_, &m);
  for (int n = 0; m && n < 100'000 && seen.insert(m).second; n++) {
    precise_.push_back({m, "runtime.m", m_words});
    for (const char* k : {"m.g0", "m.gsignal"}) {
      uint64_t g = 0;
      if (mem_.read_u64(m + off(k), &g) && g) precise_.push_back({g, "runtime.g", g_words});
    }
    if (!mem_.read_u64(m + off("m.alllink"), &m)) break;
  }
  uint64_t slice[2] = {0, 0};
  if (mem_.read(*allp + bias_, slice, 16) && slice[1] < 100'000) {
    std::vector<uint64_t> ps(slice[1]);
    if (!ps.empty() && mem_.read(slice[0], ps.data(), ps.size() * 8)) {
      for (uint64_t p : ps) {
        if (p) precise_.push_back({p, "runtime.p", p_words});
      }
    }
  }
  for (const Precise& x : precise_) {
    if (int64_t o = object_of(x.addr); o >= 0) {
      set_bit(opaque_, o);  // reached from allm/allp, scanned by scan_runtime_structs only
    } else {
      precise_globals_.insert(x.addr);  // runtime.m0, runtime.g0: left out of scan_globals
    }
  }
}

void Scanner::scan_runtime_structs() {
  std::vector<uint8_t> b;
  for (const Precise& x : precise_) {
    if (x.words->empty()) continue;
    b.assign(static_cast<size_t>(x.words->back() + 8), 0);
    if (!mem_.read(x.addr, b.data(), b.size())) continue;
    label_ = fmt::format("{} at 0x{:x}", x.type, x.addr);
    for (int64_t w : *x.words) mark_word(u64_at(b, static_cast<size_t>(w)));
    drain();
  }
}

Status Scanner::read_goroutines() {
  auto allgs = binary_.allgs_address();
  if (!allgs) return make_error("no leak verdicts: cannot find runtime.allgs", "");
  uint64_t hdr[2];
  if (!mem_.read(*allgs + bias_, hdr, 16)) return make_error("no leak verdicts: cannot read runtime.allgs", "");
  std::vector<uint64_t> ptrs(std::min<uint64_t>(hdr[1], 10'000'000));
  if (!ptrs.empty() && !mem_.read(hdr[0], ptrs.data(), ptrs.size() * 8)) {
    return make_error("no leak verdicts: cannot read runtime.allgs", "");
  }
  const char* keys[] = {"g.goid", "g.atomicstatus", "g.waitreason", "g.stack.lo", "g.stack.hi", "g.sched.sp",
                        "g.waiting", "g.m"};
  const char* optional_keys[] = {"g.sched.pc", "g.sched.ctxt", "g._defer", "g._panic", "g.syscallsp", "g.syscallpc"};
  int64_t len = 0;
  for (const char* k : keys) len = std::max(len, off(k) + 8);
  for (const char* k : optional_keys) len = std::max(len, l_.offset(k).value_or(0) + 8);
  auto opt = [&](const std::vector<uint8_t>& b, const char* k) {
    auto o = l_.offset(k);
    return o ? u64_at(b, static_cast<size_t>(*o)) : 0;
  };
  std::vector<uint8_t> bytes(ptrs.size() * len);
  std::vector<ReadRange> ranges;
  for (size_t i = 0; i < ptrs.size(); i++) ranges.push_back({ptrs[i], &bytes[i * len], size_t(len)});
  mem_.read_many(ranges);
  const uint64_t scan = static_cast<uint64_t>(l_.constant("_Gscan").value_or(0x1000));
  const uint64_t dead = static_cast<uint64_t>(l_.constant("_Gdead").value_or(6));
  const auto deadextra = l_.constant("_Gdeadextra");
  const auto idle = static_cast<uint64_t>(l_.constant("_Gidle").value_or(0));
  for (size_t i = 0; i < ptrs.size(); i++) {
    std::vector<uint8_t> b(bytes.begin() + i * len, bytes.begin() + (i + 1) * len);
    G g;
    g.addr = ptrs[i];
    g.goid = u64_at(b, off("g.goid"));
    g.status = (u64_at(b, off("g.atomicstatus")) & 0xffffffff) & ~scan;
    g.reason = b[off("g.waitreason")];
    g.stack_lo = u64_at(b, off("g.stack.lo"));
    g.stack_hi = u64_at(b, off("g.stack.hi"));
    g.sched_sp = u64_at(b, off("g.sched.sp"));
    g.waiting = u64_at(b, off("g.waiting"));
    g.m = u64_at(b, off("g.m"));
    g.sched_pc = opt(b, "g.sched.pc");
    g.ctxt = opt(b, "g.sched.ctxt");
    g.defers = opt(b, "g._defer");
    g.panics = opt(b, "g._panic");
    g.syscall_sp = opt(b, "g.syscallsp");
    g.syscall_pc = opt(b, "g.syscallpc");
    if (g.addr) {
      if (int64_t o = object_of(g.addr); o >= 0) set_bit(opaque_, o);
    }
    if (!g.goid || g.status == dead || g.status == idle || (deadextra && g.status == uint64_t(*deadextra))) continue;
    gs_.push_back(g);
  }
  return Ok{};
}

void Scanner::read_semaphores() {
  // runtime.semtable: semTabSize semaRoots, each a treap of sudogs (children prev/next) keyed
  // by semaphore address, with the other waiters on the same address on each node's waitlink.
  auto table = binary_.semtable_address();
  auto stride = l_.constant("semtable.stride");
  if (!table || !stride || !l_.offset("semaRoot.treap") || *stride <= 0) return;
  constexpr size_t kEntries = 251;  // semTabSize, the same in every supported version
  std::vector<uint8_t> t(kEntries * static_cast<size_t>(*stride));
  if (!mem_.read(*table + bias_, t.data(), t.size())) return;
  std::vector<uint64_t> todo;
  for (size_t i = 0; i < kEntries; i++) {
    if (uint64_t root = u64_at(t, i * static_cast<size_t>(*stride) + off("semaRoot.treap"))) todo.push_back(root);
  }
  std::unordered_set<uint64_t> seen;
  const int64_t len = std::max({off("sudog.g"), off("sudog.next"), off("sudog.prev"), off("sudog.waitlink"),
                                off("sudog.elem")}) + 8;
  std::vector<uint8_t> s(len);
  while (!todo.empty() && seen.size() < 10'000'000) {
    const uint64_t a = todo.back();
    todo.pop_back();
    if (!a || !seen.insert(a).second || !mem_.read(a, s.data(), s.size())) continue;
    sudogs_.push_back(a);
    sema_of_[u64_at(s, off("sudog.g"))].push_back(u64_at(s, off("sudog.elem")));
    for (const char* k : {"sudog.next", "sudog.prev", "sudog.waitlink"}) todo.push_back(u64_at(s, off(k)));
  }
}

Scanner::Running Scanner::running_at(size_t i, std::span<const ThreadRoots> threads, std::string* evidence) {
  const G& g = gs_[i];
  Running whole{i, g.stack_lo, 0};  // unknown: the whole stack, conservatively
  *evidence = "its thread unknown: its whole stack scanned conservatively";
  uint64_t tid = 0;
  if (!g.m || !l_.offset("m.procid") || !mem_.read_u64(g.m + off("m.procid"), &tid)) return whole;
  const ThreadRoots* t = nullptr;
  for (const ThreadRoots& x : threads) {
    if (x.tid == tid) t = &x;
  }
  if (!t) {
    *evidence = fmt::format("on thread {}, whose registers were not taken: its whole stack scanned conservatively", tid);
    return whole;
  }
  // On the goroutine's stack: stopped at any instruction of its code.
  if (t->sp >= g.stack_lo && t->sp < g.stack_hi) {
    const Pclntab::Function* f = t->pc > bias_ ? binary_.pclntab().function_at(t->pc - bias_) : nullptr;
    *evidence = fmt::format("on thread {}, in {}", tid, f ? f->name : fmt::format("0x{:x}", t->pc));
    return {i, t->sp, t->pc, true};
  }
  // On its M's g0 stack (systemstack, or mcall on its way to park it): the goroutine's own
  // stack is still from g.sched.sp up, which both saved on the way.
  uint64_t g0 = 0, lo = 0, hi = 0;
  if (mem_.read_u64(g.m + off("m.g0"), &g0) && g0 && mem_.read_u64(g0 + off("g.stack.lo"), &lo) &&
      mem_.read_u64(g0 + off("g.stack.hi"), &hi) && t->sp >= lo && t->sp < hi && g.sched_sp >= g.stack_lo &&
      g.sched_sp < g.stack_hi) {
    *evidence = fmt::format("on thread {}, on its system stack: its stack scanned from g.sched.sp, conservatively", tid);
    return {i, g.sched_sp, 0};
  }
  // e.g. on its gsignal stack, in a signal handler
  *evidence = fmt::format("on thread {}, off its stack: its whole stack scanned conservatively", tid);
  return whole;
}

Result<replay::LeakVerdicts> Scanner::run(std::span<const ThreadRoots> threads, const ScanOptions& options) {
  const uint64_t t0 = mono_ns();
  if (auto st = check_layout(); !st) return st.error();
  if (auto st = read_heap(); !st) return st.error();
  if (auto st = read_goroutines(); !st) return st.error();
  read_semaphores();
  read_runtime_structs();

  const auto st_of = [&](const char* name, uint64_t dflt) {
    return static_cast<uint64_t>(l_.constant(name).value_or(static_cast<int64_t>(dflt)));
  };
  const uint64_t st_running = st_of("_Grunning", 2), st_syscall = st_of("_Gsyscall", 3),
                 st_waiting = st_of("_Gwaiting", 4), st_leaked = st_of("_Gleaked", UINT64_MAX);
  const int64_t off_c = off("sudog.c"), off_link = off("sudog.waitlink");

  replay::LeakVerdicts out;
  out.time_ns = options.now_ns ? options.now_ns : t0;
  WaitDetail detail(binary_, mem_, bias_, out.time_ns);
  out.goroutines.resize(gs_.size());
  struct Pending {
    size_t i;
    std::vector<int64_t> objects;
  };
  std::vector<Pending> pending;
  std::vector<size_t> roots;  // goroutines whose stacks are roots from the start
  std::vector<Running> running;

  // The sudogs of blocked goroutines: their channels, and opaque to the scan.
  for (size_t i = 0; i < gs_.size(); i++) {
    const G& g = gs_[i];
    replay::GoroutineVerdict& v = out.goroutines[i];
    v.goid = g.goid;
    if (g.status == st_running) {
      v.verdict = Verdict::kRunning;
      running.push_back(running_at(i, threads, &v.evidence));
      continue;
    }
    if (g.status == st_syscall) {
      v.verdict = Verdict::kTimeIo;
      v.evidence = "in a system call";
      // As runtime.scanstack: from the PC/SP entersyscall saved, the frames below it (the
      // system call's own) left out; without them, all of it.
      if (g.syscall_sp >= g.stack_lo && g.syscall_sp < g.stack_hi && g.syscall_pc) {
        running.push_back({i, g.syscall_sp, g.syscall_pc});
      } else {
        running.push_back({i, g.stack_lo, 0});
      }
      continue;
    }
    if (g.status != st_waiting && g.status != st_leaked) {
      v.verdict = Verdict::kRunnable;
      roots.push_back(i);
      continue;
    }
    const std::string reason = l_.wait_reason(g.reason);
    switch (wait_kind(reason)) {
      case WaitKind::kNothing:
        v.verdict = Verdict::kLeaked;
        v.evidence = fmt::format("waits on nothing ({}): nothing can wake it", reason);
        break;
      case WaitKind::kTimeIo: {
        v.verdict = Verdict::kTimeIo;
        const std::string on = reason == "sleep"     ? detail.sleep(g.addr)
                               : reason == "IO wait" ? detail.io(g.addr, g.sched_sp, g.stack_hi)
                                                     : "";
        v.evidence = on.empty() ? reason : fmt::format("{}, {}", reason, on);
        roots.push_back(i);
        break;
      }
      case WaitKind::kOther:
        v.verdict = Verdict::kMayWake;
        v.evidence = fmt::format("{}: its wait object is not known, assumed to wake", reason);
        roots.push_back(i);
        break;
      case WaitKind::kChannel:
      case WaitKind::kSema:
      case WaitKind::kCond: {
        if (wait_kind(reason) == WaitKind::kChannel) {
          uint64_t s = g.waiting;
          for (int n = 0; s && n < 100'000; n++) {
            sudogs_.push_back(s);
            uint64_t c = 0;
            if (!mem_.read_u64(s + off_c, &c)) break;
            if (c) v.objects.push_back(c);
            if (!mem_.read_u64(s + off_link, &s)) break;
          }
        } else if (wait_kind(reason) == WaitKind::kCond) {
          if (uint64_t list = detail.cond_of(g.addr, g.waiting, g.sched_sp, g.stack_hi)) v.objects.push_back(list);
        } else if (auto it = sema_of_.find(g.addr); it != sema_of_.end()) {
          v.objects = it->second;
        }
        std::sort(v.objects.begin(), v.objects.end());
        v.objects.erase(std::unique(v.objects.begin(), v.objects.end()), v.objects.end());
        // A pending timer's channel: the runtime wakes it. Channels only: a semaphore's address
        // read as an hchan finds a "timer" in whatever follows it (wgleak's WaitGroup on go1.27).
        if (wait_kind(reason) == WaitKind::kChannel && time_wait(detail, reason, v)) {
          roots.push_back(i);
          break;
        }
        if (v.objects.empty()) {
          v.verdict = Verdict::kMayWake;
          v.evidence = fmt::format("{}: no wait object found, assumed to wake", reason);
          roots.push_back(i);
          break;
        }
        Pending p{i, {}};
        for (uint64_t o : v.objects) {
          const int64_t obj = object_of(o);
          if (obj < 0) {  // a global or a stack variable: not decided by the heap scan
            p.objects.clear();
            v.verdict = Verdict::kMayWake;
            v.evidence = fmt::format("{} on 0x{:x}, not a heap object (a global or on a stack)", reason, o);
            break;
          }
          p.objects.push_back(obj);
        }
        if (p.objects.empty()) {
          roots.push_back(i);
          break;
        }
        v.evidence = reason;
        for (int64_t o : p.objects) set_bit(wait_objects_, o);
        pending.push_back(std::move(p));
        break;
      }
    }
  }
  for (uint64_t s : sudogs_) {
    if (int64_t o = object_of(s); o >= 0) set_bit(opaque_, o);
  }

  // Roots: registers, then globals, then the stacks of goroutines that can run. Registers only
  // of a thread that runs a goroutine's code: on that goroutine's stack, not in a system call,
  // not in runtime.exit. What the others hold is what the runtime last computed, not live: an
  // idle thread asleep in the scheduler on its g0 stack, a goroutine in a system call (the GC
  // reads neither), the thread that ends the program (its registers, seen holding a Cond's
  // address the goroutineleak profile had just printed, hid three leaks).
  std::vector<std::pair<uint64_t, uint64_t>> stacks;
  for (const G& g : gs_) stacks.emplace_back(g.stack_lo, g.stack_hi);
  std::sort(stacks.begin(), stacks.end());
  const Pclntab::Function* exit_fn = binary_.pclntab().find("runtime.exit");
  for (const ThreadRoots& t : threads) {
    auto it = std::upper_bound(stacks.begin(), stacks.end(), std::pair<uint64_t, uint64_t>{t.sp, UINT64_MAX});
    if (it == stacks.begin() || t.sp >= std::prev(it)->second || t.in_syscall) continue;
    if (exit_fn && t.pc >= exit_fn->entry + bias_ && t.pc < exit_fn->end + bias_) continue;
    label_ = fmt::format("registers of thread {}", t.tid);
    for (uint64_t w : t.words) mark_word(w);
    drain();
  }
  scan_runtime_structs();
  scan_globals();
  for (const Running& r : running) {
    if (r.interrupted) {
      scan_running_stack(gs_[r.i], r.sp, r.pc);
    } else {
      scan_stack_of(gs_[r.i], r.sp, r.pc);
    }
  }
  for (size_t i : roots) scan_stack_of(gs_[i], gs_[i].sched_sp, gs_[i].sched_pc);

  // Fixed point: a blocked goroutine whose wait object is reachable may wake, and then its
  // stack reaches further.
  auto marked = [&](int64_t o) { return bit(marks_, o); };
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto it = pending.begin(); it != pending.end();) {
      auto hit = std::find_if(it->objects.begin(), it->objects.end(), marked);
      if (hit == it->objects.end()) {
        ++it;
        continue;
      }
      replay::GoroutineVerdict& v = out.goroutines[it->i];
      v.verdict = Verdict::kMayWake;
      const size_t k = static_cast<size_t>(hit - it->objects.begin());
      auto by = reached_by_.find(*hit);
      v.evidence = fmt::format("{} on 0x{:x}, reachable from {}", v.evidence, v.objects[k],
                               by != reached_by_.end() ? by->second : "a live object");
      scan_stack_of(gs_[it->i], gs_[it->i].sched_sp, gs_[it->i].sched_pc);
      it = pending.erase(it);
      changed = true;
    }
  }
  for (const Pending& p : pending) {
    replay::GoroutineVerdict& v = out.goroutines[p.i];
    v.verdict = Verdict::kLeaked;
    std::string objs;
    for (uint64_t o : v.objects) objs += fmt::format("{}0x{:x}", objs.empty() ? "" : ", ", o);
    v.evidence = fmt::format("{} on {}: unreachable from every goroutine that can run", v.evidence, objs);
  }
  out.bytes_scanned = bytes_scanned_;
  out.heap_bytes = heap_bytes_;
  out.scan_ns = mono_ns() - t0;
  return out;
}

}  // namespace

Result<replay::LeakVerdicts> scan_verdicts(const GoBinary& binary, const TargetMemory& memory, uint64_t load_bias,
                                           std::span<const ThreadRoots> threads, const ScanOptions& options) {
  Scanner s(binary, memory, load_bias, options.window_bytes);
  return s.run(threads, options);
}

}  // namespace gorepro::verdict
