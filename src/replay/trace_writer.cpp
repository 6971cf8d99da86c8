#include "replay/trace_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <deque>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zstd.h>

#include "replay/byte_codec.h"
#include "replay/crc32c.h"
#include "replay/goroutine_table.h"
#include "replay/trace_reader.h"
#include "replay/trace_format.h"

#ifndef GOREPRO_VERSION
#define GOREPRO_VERSION "unknown"
#endif

namespace gorepro::replay {
namespace {

uint64_t hash_pcs(std::span<const uint64_t> pcs) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ pcs.size();
  for (uint64_t pc : pcs) h = (h ^ pc) * 0x100000001B3ull + (h >> 29);
  return h;
}

bool write_fd(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void put_prefix(std::vector<uint8_t>& out, uint64_t first_seq, uint64_t events, uint64_t base_time) {
  ByteSink sink(out);
  sink.varint(first_seq);
  sink.varint(events);
  sink.varint(events ? base_time : 0);
}

}  // namespace

// The flight recorder's memory: the chunks of the current window, in order, and what the chunks
// dropped before it leave behind — their intern tables and the goroutines alive at the window's
// start — from which a dump's prologue is written (docs/ring.md).
struct TraceWriter::Ring {
  struct Chunk {
    std::vector<uint8_t> records;  // after the prefix, never compressed
    uint64_t first_seq = 0, events = 0, base_time = 0, last_time = 0;
    size_t file_size() const {
      return format::kChunkHeaderSize + ByteSink::varint_size(first_seq) + ByteSink::varint_size(events) +
             ByteSink::varint_size(events ? base_time : 0) + records.size();
    }
  };
  uint64_t window_ns = 0, max_bytes = 0;
  std::vector<uint8_t> head;  // preamble + header chunk, as written at create()
  std::deque<Chunk> chunks;
  uint64_t chunk_bytes = 0;   // the chunks' bytes in a file
  ChunkStream dropped;        // every dropped chunk, decoded in order: the tables at the window
  GoroutineTable base;        // the goroutines alive at the window's start
  uint64_t dropped_events = 0;
  uint64_t defs_bytes = 0;    // what the tables take in a prologue
  RingStats stats;

  // A prologue's size, a little over: the tables and a preexisting record per goroutine.
  uint64_t estimate() const {
    return head.size() + 2 * format::kChunkHeaderSize + 64 + defs_bytes + 24 * base.goroutines().size() + chunk_bytes;
  }

  Status drop_front() {
    Chunk c = std::move(chunks.front());
    chunks.pop_front();
    chunk_bytes -= c.file_size();
    const TraceReader& t = dropped.tables();
    const size_t strings = t.string_count(), stacks = t.stack_count(), pcs = dropped.pcs().size();
    if (Status st = dropped.decode(c.records, c.base_time, [&](const Event& e) { base.apply(e); }); !st) return st;
    for (size_t i = strings; i < t.string_count(); ++i) defs_bytes += 11 + t.string(static_cast<StringId>(i)).size();
    for (size_t i = stacks; i < t.stack_count(); ++i) defs_bytes += 11 + 3 * t.stack(static_cast<StackId>(i)).size();
    defs_bytes += 10 * (dropped.pcs().size() - pcs);
    dropped_events += c.events;
    return Ok{};
  }

  // Drops the oldest chunks the bounds leave out (the newest one always stays).
  Status evict() {
    while (chunks.size() > 1) {
      const bool old = window_ns && chunks.front().last_time + window_ns < chunks.back().last_time;
      const bool big = max_bytes && estimate() > max_bytes;
      if (!old && !big) break;
      if (Status st = drop_front(); !st) return st;
    }
    return Ok{};
  }

  // The records that open a window: the intern tables as the dropped chunks left them — strings,
  // then stacks in id order, each PC a literal where it first appears, which rebuilds the PC
  // table exactly because a ring's writer grows it only through stack records (define_pc) — then
  // a preexisting record per goroutine alive at start_ns, then the window mark.
  std::vector<uint8_t> prologue(uint64_t start_ns, uint64_t& events) {
    std::vector<uint8_t> out;
    ByteSink sink(out);
    const TraceReader& t = dropped.tables();
    for (size_t i = 1; i < t.string_count(); ++i) {
      const std::string& str = t.string(static_cast<StringId>(i));
      sink.u8(format::kRecString);
      sink.varint(str.size());
      sink.bytes(str);
    }
    std::unordered_map<uint64_t, uint64_t> pc_index;
    auto pcref = [&](uint64_t pc, bool may_define) {
      auto [it, inserted] = pc_index.try_emplace(pc, pc_index.size());
      GOREPRO_CHECK(may_define || !inserted, "flight recorder: a goroutine's PC is not in the window's tables");
      if (inserted) {
        sink.u8(0);
        sink.varint(pc);
      } else {
        sink.varint(it->second + 1);
      }
    };
    for (size_t i = 1; i < t.stack_count(); ++i) {
      auto pcs = t.stack(static_cast<StackId>(i));
      sink.u8(format::kRecStack);
      sink.varint(pcs.size());
      for (uint64_t pc : pcs) pcref(pc, true);
    }
    GOREPRO_CHECK(pc_index.size() == dropped.pcs().size(), "flight recorder: the PC table did not rebuild");
    std::vector<const Goroutine*> alive;
    for (const auto& [goid, g] : base.goroutines())
      if (g.state != GoState::Dead) alive.push_back(&g);
    std::sort(alive.begin(), alive.end(), [](const Goroutine* a, const Goroutine* b) { return a->goid < b->goid; });
    uint64_t prev_goid = 0;
    for (const Goroutine* g : alive) {
      const bool waiting = g->state == GoState::Waiting;
      sink.u8(static_cast<uint8_t>(EventKind::Preexisting) | (g->parent ? format::kFlagOptional : 0));
      sink.varint(zigzag_delta(start_ns, start_ns));  // every one at the window's start
      sink.varint(zigzag_delta(g->goid, prev_goid));
      if (g->parent) sink.varint(zigzag_delta(g->parent, g->goid));
      sink.u8(static_cast<uint8_t>(g->state));
      sink.varint(waiting ? g->wait_reason : 0);
      pcref(g->gopc, false);
      pcref(g->start_pc, false);
      sink.varint(waiting ? g->block_stack : 0);
      prev_goid = g->goid;
    }
    SnapshotMark mark;
    mark.window = true;
    mark.time_ns = start_ns;
    mark.goroutines = alive.size();
    mark.dropped_events = dropped_events;
    mark.window_ns = window_ns;
    mark.window_bytes = max_bytes;
    std::vector<uint8_t> body = encode_snapshot_mark(mark);
    sink.u8(format::kRecSnapshot);
    sink.varint(body.size());
    out.insert(out.end(), body.begin(), body.end());
    events = alive.size();
    return out;
  }
};

Result<std::unique_ptr<TraceWriter>> TraceWriter::create(const std::string& path, TraceHeader header,
                                                         TraceWriterOptions options) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error(fmt::format("cannot create trace {}: {}", path, strerror(errno)),
                      "check that the directory exists and is writable");
  std::unique_ptr<TraceWriter> w(new TraceWriter(fd, path, options));

  std::vector<uint8_t> preamble;
  ByteSink sink(preamble);
  sink.bytes({reinterpret_cast<const char*>(format::kMagic), sizeof format::kMagic});
  sink.fixed16(format::kMajorVersion);
  sink.fixed16(format::kMinorVersion);
  sink.fixed32(crc32c(preamble.data(), preamble.size()));
  if (Status s = w->write_all(preamble.data(), preamble.size()); !s) return s.error();

  if (header.tool_version.empty()) header.tool_version = GOREPRO_VERSION;
  header.state_names.clear();
  for (int i = 0; i < kGoStateCount; ++i)
    header.state_names.emplace_back(go_state_name(static_cast<GoState>(i)));
  std::string json = header_to_json(header).dump();
  if (Status s = w->write_chunk(format::kChunkHeader,
                                {reinterpret_cast<const uint8_t*>(json.data()), json.size()});
      !s)
    return s.error();
  if (w->ring_) {
    w->ring_->head = preamble;
    w->ring_->head.insert(w->ring_->head.end(), w->out_.begin(), w->out_.end());
  }
  return w;
}

TraceWriter::TraceWriter(int fd, std::string path, TraceWriterOptions options)
    : fd_(fd), path_(std::move(path)), options_(options) {
  if (options_.chunk_bytes < 256) options_.chunk_bytes = 256;
  // Headroom for the record that crosses the bound, so the hot path never reallocates.
  body_.reserve(options_.chunk_bytes + 4096);
  out_.reserve(options_.chunk_bytes + 4096 + 64);
  stack_begin_.push_back(0);
  stack_begin_.push_back(0);  // stack 0: empty
  if (options_.ring_window_ns || options_.ring_bytes) {
    ring_ = std::make_unique<Ring>();
    ring_->window_ns = options_.ring_window_ns;
    ring_->max_bytes = options_.ring_bytes;
    define_pc(0);  // a goroutine known only from a later event has gopc 0: the prologue names it
  }
}

TraceWriter::~TraceWriter() {
  if (fd_ >= 0) (void)close();
}

void TraceWriter::define_pc(uint64_t pc) {
  if (!pc_index_.contains(pc)) (void)intern_stack({&pc, 1});
}

uint64_t TraceWriter::bytes_written() const { return ring_ ? ring_->estimate() : file_bytes_; }

const RingStats& TraceWriter::ring_stats() const {
  static const RingStats none;
  return ring_ ? ring_->stats : none;
}

void TraceWriter::reset_deltas() {
  prev_time_ = chunk_base_time_;
  prev_goid_ = prev_created_ = prev_object_ = prev_actor_ = 0;
  prev_tid_ = 0;
}

void TraceWriter::encode_pc(uint64_t pc) {
  // PCs repeat (a few hundred distinct go statements and start functions), so each one is
  // written in full once — as reference 0 followed by the literal — and by index afterwards.
  ByteSink sink(body_);
  auto [it, inserted] = pc_index_.try_emplace(pc, static_cast<uint32_t>(pc_index_.size()));
  if (inserted) {
    sink.u8(0);
    sink.varint(pc);
  } else {
    sink.varint(static_cast<uint64_t>(it->second) + 1);
  }
}

StackId TraceWriter::intern_stack(std::span<const uint64_t> pcs) {
  if (pcs.empty()) return 0;
  uint64_t h = hash_pcs(pcs);
  auto [lo, hi] = stack_by_hash_.equal_range(h);
  for (auto it = lo; it != hi; ++it) {
    StackId id = it->second;
    std::span<const uint64_t> known(stack_arena_.data() + stack_begin_[id],
                                    stack_begin_[id + 1] - stack_begin_[id]);
    if (std::equal(known.begin(), known.end(), pcs.begin(), pcs.end())) return id;
  }
  StackId id = static_cast<StackId>(stack_begin_.size() - 1);
  stack_arena_.insert(stack_arena_.end(), pcs.begin(), pcs.end());
  stack_begin_.push_back(static_cast<uint32_t>(stack_arena_.size()));
  stack_by_hash_.emplace(h, id);
  ByteSink sink(body_);
  sink.u8(format::kRecStack);
  sink.varint(pcs.size());
  for (uint64_t pc : pcs) encode_pc(pc);
  return id;
}

StringId TraceWriter::intern_string(std::string_view s) {
  if (s.empty()) return 0;
  if (auto it = string_ids_.find(s); it != string_ids_.end()) return it->second;
  StringId id = next_string_++;
  string_ids_.emplace(std::string(s), id);
  ByteSink sink(body_);
  sink.u8(format::kRecString);
  sink.varint(s.size());
  sink.bytes(s);
  return id;
}

Status TraceWriter::append(const Event& e, const Labels* labels) {
  if (failed_) return *failed_;
  // Strings first: their definitions then precede the event, and the labels record follows it
  // directly (readers attach it to the event just before).
  label_ids_.clear();
  if (labels) {
    for (const Label& l : *labels) label_ids_.emplace_back(intern_string(l.key), intern_string(l.value));
  }
  if (chunk_events_ == 0) {
    chunk_first_seq_ = next_seq_;
    chunk_base_time_ = e.time_ns;
    reset_deltas();
  }
  if (ring_ && (e.kind == EventKind::Create || e.kind == EventKind::Preexisting)) {
    define_pc(e.pc);
    define_pc(e.start_pc);
  }
  ByteSink sink(body_);
  bool optional = false;
  switch (e.kind) {
    case EventKind::Create: optional = e.other_goid != 0; break;
    case EventKind::Park: optional = e.object != 0; break;
    case EventKind::Ready: optional = e.other_goid != 0; break;
    case EventKind::Preexisting: optional = e.other_goid != 0; break;
    case EventKind::Exit:
    case EventKind::State:
    case EventKind::Sched: break;
  }
  uint8_t tag = static_cast<uint8_t>(e.kind);
  if (e.tid != prev_tid_) tag |= format::kFlagTid;
  if (optional) tag |= format::kFlagOptional;
  sink.u8(tag);
  if (e.tid != prev_tid_) {
    sink.varint(e.tid);
    prev_tid_ = e.tid;
  }
  sink.varint(zigzag_delta(e.time_ns, prev_time_));
  prev_time_ = e.time_ns;

  switch (e.kind) {
    case EventKind::Create:
      // Parents and wakers are a few spawner goroutines, so they delta well against each other.
      if (optional) {
        sink.varint(zigzag_delta(e.other_goid, prev_actor_));
        prev_actor_ = e.other_goid;
      }
      sink.varint(zigzag_delta(e.goid, prev_created_));
      encode_pc(e.pc);
      encode_pc(e.start_pc);
      sink.varint(e.stack);
      prev_created_ = prev_goid_ = e.goid;
      break;
    case EventKind::Park:
      sink.varint(zigzag_delta(e.goid, prev_goid_));
      sink.varint(e.wait_reason);
      if (optional) {
        sink.varint(zigzag_delta(e.object, prev_object_));
        prev_object_ = e.object;
      }
      sink.varint(e.stack);
      prev_goid_ = e.goid;
      break;
    case EventKind::Ready:
      sink.varint(zigzag_delta(e.goid, prev_goid_));
      if (optional) {
        sink.varint(zigzag_delta(e.other_goid, prev_actor_));
        prev_actor_ = e.other_goid;
      }
      prev_goid_ = e.goid;
      break;
    case EventKind::Exit:
      sink.varint(zigzag_delta(e.goid, prev_goid_));
      prev_goid_ = e.goid;
      break;
    case EventKind::State:
      sink.varint(zigzag_delta(e.goid, prev_goid_));
      sink.u8(static_cast<uint8_t>(e.state));
      prev_goid_ = e.goid;
      break;
    case EventKind::Sched: {
      // Length-prefixed body of keyed fields so that parsed schedtrace fields can be added
      // later without breaking older readers.
      // Begin/end as distances back from the event's time (0 = unknown: not stored).
      auto back = [&](uint64_t t) { return t ? e.time_ns - t + 1 : 0; };
      std::pair<uint64_t, uint64_t> fields[] = {{format::kSchedFieldText, e.text},
                                                 {format::kSchedFieldLag, e.lag_ns},
                                                 {format::kSchedFieldSpan, e.span_ns},
                                                 {format::kSchedFieldBegin, back(e.dump_begin_ns)},
                                                 {format::kSchedFieldEnd, back(e.dump_end_ns)},
                                                 {format::kSchedFieldGReads, e.g_reads},
                                                 {format::kSchedFieldInterval, e.interval_ms}};
      size_t len = 0;
      for (auto [field, v] : fields) {
        if (v || field == format::kSchedFieldText) len += ByteSink::varint_size(field << 1) + ByteSink::varint_size(v);
      }
      sink.varint(len);
      for (auto [field, v] : fields) {
        if (!v && field != format::kSchedFieldText) continue;  // absent means 0
        sink.varint(field << 1);
        sink.varint(v);
      }
      break;
    }
    case EventKind::Preexisting:
      sink.varint(zigzag_delta(e.goid, prev_goid_));
      if (optional) sink.varint(zigzag_delta(e.other_goid, e.goid));
      sink.u8(static_cast<uint8_t>(e.state));
      sink.varint(e.wait_reason);
      encode_pc(e.pc);
      encode_pc(e.start_pc);
      sink.varint(e.stack);
      prev_goid_ = e.goid;
      break;
  }
  ++next_seq_;
  ++chunk_events_;
  if (labels) {
    std::vector<uint8_t> rec = encode_labels(e.goid, label_ids_);
    sink.u8(format::kRecLabels);
    sink.varint(rec.size());
    body_.insert(body_.end(), rec.begin(), rec.end());
  }
  if (body_.size() >= options_.chunk_bytes ||
      e.time_ns - chunk_base_time_ >= options_.chunk_max_age_ns)
    return flush();
  return Ok{};
}

Status TraceWriter::append_extension(uint8_t kind, const std::vector<uint8_t>& body) {
  if (failed_) return *failed_;
  ByteSink sink(body_);
  sink.u8(kind);
  sink.varint(body.size());
  body_.insert(body_.end(), body.begin(), body.end());
  return Ok{};
}

Status TraceWriter::append_lost(const LostEvents& lost) {
  return append_extension(format::kRecLostEvents, encode_lost_events(lost));
}

Status TraceWriter::append_snapshot(const SnapshotMark& mark) {
  return append_extension(format::kRecSnapshot, encode_snapshot_mark(mark));
}

Status TraceWriter::append_verdicts(const LeakVerdicts& verdicts) {
  std::vector<uint64_t> ids;
  ids.reserve(verdicts.goroutines.size());
  for (const GoroutineVerdict& g : verdicts.goroutines) ids.push_back(intern_string(g.evidence));
  return append_extension(format::kRecVerdicts, encode_leak_verdicts(verdicts, ids));
}

Status TraceWriter::flush_if_due(uint64_t now_ns) {
  if (failed_) return *failed_;
  if (chunk_events_ > 0 && now_ns - chunk_base_time_ >= options_.chunk_max_age_ns) return flush();
  return Ok{};
}

Status TraceWriter::flush() {
  if (failed_) return *failed_;
  if (chunk_events_ == 0 && body_.empty()) return Ok{};
  if (ring_) {
    Ring::Chunk c;
    c.first_seq = chunk_events_ ? chunk_first_seq_ : next_seq_;
    c.events = chunk_events_;
    c.base_time = chunk_events_ ? chunk_base_time_ : 0;
    c.last_time = prev_time_;
    c.records = body_;
    body_.clear();
    chunk_events_ = 0;
    ring_->chunk_bytes += c.file_size();
    ring_->chunks.push_back(std::move(c));
    if (Status st = ring_->evict(); !st) failed_ = std::make_unique<Error>(st.error());
    return failed_ ? Status(*failed_) : Status(Ok{});
  }
  // Payload = chunk prefix (first seq, event count, base time) + records. Assembled after the
  // records because the count is only known now.
  std::vector<uint8_t> prefix;
  prefix.reserve(32);
  ByteSink sink(prefix);
  sink.varint(chunk_events_ ? chunk_first_seq_ : next_seq_);
  sink.varint(chunk_events_);
  sink.varint(chunk_events_ ? chunk_base_time_ : 0);
  body_.insert(body_.begin(), prefix.begin(), prefix.end());
  Status s = write_chunk(format::kChunkEvents, body_);
  body_.clear();
  chunk_events_ = 0;
  return s;
}

Status TraceWriter::write_chunk(uint8_t type, std::span<const uint8_t> payload) {
  encode_chunk(type, payload);
  return write_all(out_.data(), out_.size());
}

void TraceWriter::encode_chunk(uint8_t type, std::span<const uint8_t> payload) {
  uint8_t flags = 0;
  std::span<const uint8_t> stored = payload;
  if (options_.zstd_level > 0 && type == format::kChunkEvents) {
    zbuf_.resize(ZSTD_compressBound(payload.size()));
    size_t n = ZSTD_compress(zbuf_.data(), zbuf_.size(), payload.data(), payload.size(),
                             options_.zstd_level);
    // Keep the raw bytes when compression does not pay (tiny or incompressible chunks).
    if (!ZSTD_isError(n) && n < payload.size()) {
      flags |= format::kChunkFlagZstd;
      stored = {zbuf_.data(), n};
    }
  }
  GOREPRO_CHECK(payload.size() <= format::kMaxChunkBytes, "chunk exceeds the format's bound");
  out_.clear();
  ByteSink sink(out_);
  sink.u8(type);
  sink.u8(flags);
  sink.fixed16(0);
  sink.fixed32(static_cast<uint32_t>(stored.size()));
  sink.fixed32(static_cast<uint32_t>(payload.size()));
  sink.fixed32(crc32c(stored.data(), stored.size()));
  sink.fixed32(crc32c(out_.data(), out_.size()));
  out_.insert(out_.end(), stored.begin(), stored.end());
}

std::vector<uint8_t> TraceWriter::end_payload() const {
  std::vector<uint8_t> end;
  ByteSink sink(end);
  sink.varint(next_seq_);
  sink.varint(prev_time_);
  return end;
}

Status TraceWriter::write_window(int fd, const std::string& path) {
  Ring& r = *ring_;
  // The window's start: its first event; the goroutines alive then are its prologue.
  uint64_t events = 0;
  std::vector<uint8_t> prologue;
  auto start_of = [&] {
    for (const Ring::Chunk& c : r.chunks)
      if (c.events) return c.base_time;
    return r.base.time_ns();
  };
  while (true) {
    prologue = r.prologue(start_of(), events);
    const uint64_t total = r.head.size() + 2 * format::kChunkHeaderSize + 32 + prologue.size() + r.chunk_bytes;
    if (!r.max_bytes || total <= r.max_bytes || r.chunks.size() <= 1) break;
    if (Status st = r.drop_front(); !st) return st;
  }
  const uint64_t start = start_of();
  const std::string failed = fmt::format("cannot write the trace file {}", path);
  auto io_error = [&] {
    return make_error(fmt::format("{}: {}", failed, strerror(errno)), "free disk space or choose another path");
  };
  uint64_t bytes = 0;
  auto put_chunk = [&](uint8_t type, std::span<const uint8_t> payload) {
    encode_chunk(type, payload);
    bytes += out_.size();
    return write_fd(fd, out_.data(), out_.size());
  };
  if (!write_fd(fd, r.head.data(), r.head.size())) return io_error();
  bytes += r.head.size();
  std::vector<uint8_t> payload;
  put_prefix(payload, 0, events, start);
  payload.insert(payload.end(), prologue.begin(), prologue.end());
  if (!put_chunk(format::kChunkEvents, payload)) return io_error();
  // Sequence numbers restart at 0 with the prologue's preexisting records.
  uint64_t seq = events, last_time = start;
  for (const Ring::Chunk& c : r.chunks) {
    payload.clear();
    put_prefix(payload, seq, c.events, c.base_time);
    payload.insert(payload.end(), c.records.begin(), c.records.end());
    if (!put_chunk(format::kChunkEvents, payload)) return io_error();
    seq += c.events;
    if (c.events) last_time = c.last_time;
  }
  payload.clear();
  ByteSink end(payload);
  end.varint(seq);
  end.varint(last_time);
  if (!put_chunk(format::kChunkEnd, payload)) return io_error();
  r.stats = RingStats{seq, events, r.dropped_events, start, last_time, bytes};
  return Ok{};
}

Status TraceWriter::copy_to(const std::string& path) {
  if (fd_ < 0) return make_error(fmt::format("the trace {} is closed", path_), "");
  if (Status st = flush(); !st) return st;
  if (ring_) {
    int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
      return make_error(fmt::format("cannot write the trace file {}: {}", path, strerror(errno)), "choose another path");
    Status st = write_window(out, path);
    if (::close(out) != 0 && st)
      st = make_error(fmt::format("cannot write the trace file {}: {}", path, strerror(errno)), "free disk space");
    return st;
  }
  const std::string failed = fmt::format("cannot write the trace file {}", path);
  int in = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return make_error(fmt::format("cannot read back {}: {}", path_, strerror(errno)), "");
  int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return make_error(fmt::format("{}: {}", failed, strerror(err)), "choose another path");
  }
  auto put = [&](const uint8_t* data, size_t size) {
    while (size > 0) {
      ssize_t n = ::write(out, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  };
  bool ok = true;
  std::vector<uint8_t> buf(1 << 16);
  for (uint64_t at = 0; ok && at < file_bytes_;) {
    ssize_t n = ::pread(in, buf.data(), std::min<uint64_t>(buf.size(), file_bytes_ - at), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0 && put(buf.data(), static_cast<size_t>(n));
    at += n > 0 ? static_cast<uint64_t>(n) : 0;
  }
  if (ok) {
    encode_chunk(format::kChunkEnd, end_payload());
    ok = put(out_.data(), out_.size());
  }
  const int err = errno;
  ::close(in);
  if (::close(out) != 0) ok = false;
  if (!ok) return make_error(fmt::format("{}: {}", failed, strerror(err)), "free disk space or choose another path");
  return Ok{};
}

Status TraceWriter::write_all(const uint8_t* data, size_t size) {
  if (failed_) return *failed_;
  while (size > 0) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      failed_ = std::make_unique<Error>(make_error(
          fmt::format("cannot write trace {} after {} bytes: {}", path_, file_bytes_, strerror(err)),
          err == ENOSPC ? "free disk space; the trace is readable up to its last whole chunk"
                        : "the trace is readable up to its last whole chunk"));
      return *failed_;
    }
    data += n;
    size -= static_cast<size_t>(n);
    file_bytes_ += static_cast<uint64_t>(n);
  }
  return Ok{};
}

Status TraceWriter::close() {
  if (fd_ < 0) return failed_ ? Status(*failed_) : Status(Ok{});
  Status s = flush();
  if (s && ring_) {
    // The file held only the header so far: it becomes the window.
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
      s = make_error(fmt::format("cannot rewrite trace {}: {}", path_, strerror(errno)), "choose another path");
    if (s) s = write_window(fd_, path_);
    if (s) file_bytes_ = ring_->stats.file_bytes;
  } else if (s) {
    s = write_chunk(format::kChunkEnd, end_payload());
  }
  if (::close(fd_) != 0 && s) {
    failed_ = std::make_unique<Error>(
        make_error(fmt::format("cannot close trace {}: {}", path_, strerror(errno)),
                   "the disk may be full; free space and record again"));
    s = *failed_;
  }
  fd_ = -1;
  return s;
}

}  // namespace gorepro::replay
