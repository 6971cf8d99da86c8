#include "replay/trace_reader.h"

#include <errno.h>
#include <string.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zstd.h>

#include "replay/byte_codec.h"
#include "replay/crc32c.h"
#include "replay/trace_format.h"

namespace gorepro::replay {

// Decodes records. The defining pass (validation at open) appends interned definitions to the
// reader's tables and checks every reference; later passes (Cursors) skip definitions and
// trust the references the defining pass checked.
class TraceDecoder {
 public:
  enum class Outcome { Event, Definition, Labels, Error };

  static Outcome record(ByteSource& src, TraceReader::Deltas& d, TraceReader& r, bool defining,
                        Event& e, const char*& why) {
    uint8_t tag;
    if (!src.u8(tag)) return fail(why, "record tag missing");
    if (tag & format::kFlagsReserved) return fail(why, "record uses reserved flag bits");
    uint8_t kind = tag & format::kKindMask;
    if (kind == format::kRecString) return string_def(src, r, defining, why);
    if (kind == format::kRecStack) return stack_def(src, r, defining, why);
    if (r.major_ >= 2 && kind == format::kRecLabels) return labels(src, r, defining, why);
    if (r.major_ >= 2 && (kind == format::kRecLostEvents || kind == format::kRecSnapshot ||
                           kind == format::kRecVerdicts)) {
      uint64_t len;
      std::span<const uint8_t> body;
      if (!src.varint(len) || !src.bytes(len, body)) return fail(why, "extension record overruns its chunk");
      if (!defining) return Outcome::Definition;
      if (kind == format::kRecLostEvents) {
        LostEvents lost;
        if (!decode_lost_events(body, lost)) return fail(why, "bad lost-events record");
        r.losses_.add(lost, r.defining_seq_);
      } else if (kind == format::kRecVerdicts) {
        LeakVerdicts v;
        std::vector<uint64_t> ids;
        if (!decode_leak_verdicts(body, v, ids)) return fail(why, "bad leak-verdicts record");
        for (size_t i = 0; i < ids.size(); i++) {
          if (ids[i] >= r.strings_.size()) return fail(why, "leak-verdicts record names an undefined string");
          v.goroutines[i].evidence = r.strings_[ids[i]];
        }
        r.verdicts_ = std::move(v);  // the last one wins: the latest report instant
      } else {
        SnapshotMark mark;
        if (!decode_snapshot_mark(body, mark)) return fail(why, "bad snapshot record");
        if (mark.window) {
          r.window_ = mark;
        } else {
          r.snapshots_.add(mark);
        }
      }
      return Outcome::Definition;
    }
    if (kind >= (r.major_ >= 2 ? format::kRecFirstLengthPrefixed : format::kRecFirstLengthPrefixedV1)) {
      // A record kind from a newer minor version: skip its body.
      uint64_t len;
      if (!src.varint(len) || !src.skip(len)) return fail(why, "extension record overruns its chunk");
      return Outcome::Definition;
    }
    e = Event{};
    e.kind = static_cast<EventKind>(kind);
    bool optional = tag & format::kFlagOptional;
    uint64_t v;
    if (tag & format::kFlagTid) {
      if (!src.varint(v) || v > UINT32_MAX) return fail(why, "bad thread id");
      d.tid = static_cast<uint32_t>(v);
    }
    e.tid = d.tid;
    if (!src.varint(v)) return fail(why, "time missing");
    e.time_ns = d.time = apply_delta(d.time, v);

    switch (e.kind) {
      case EventKind::Create:
        if (optional) {
          if (!goid_delta(src, d.actor, e.other_goid)) return fail(why, "parent goid missing");
          d.actor = e.other_goid;
        }
        if (!goid_delta(src, d.created, e.goid)) return fail(why, "goid missing");
        if (!pc(src, r, defining, e.pc) || !pc(src, r, defining, e.start_pc))
          return fail(why, "bad PC reference");
        if (!stack_ref(src, r, defining, e.stack)) return fail(why, "bad stack reference");
        d.created = d.goid = e.goid;
        break;
      case EventKind::Park:
        if (!goid_delta(src, d.goid, e.goid)) return fail(why, "goid missing");
        if (!src.varint(v) || v > UINT32_MAX) return fail(why, "bad wait reason");
        e.wait_reason = static_cast<uint32_t>(v);
        if (optional) {
          if (!src.varint(v)) return fail(why, "object address missing");
          e.object = d.object = apply_delta(d.object, v);
        }
        if (!stack_ref(src, r, defining, e.stack)) return fail(why, "bad stack reference");
        d.goid = e.goid;
        break;
      case EventKind::Ready:
        if (!goid_delta(src, d.goid, e.goid)) return fail(why, "goid missing");
        if (optional) {
          if (!goid_delta(src, d.actor, e.other_goid)) return fail(why, "waker missing");
          d.actor = e.other_goid;
        }
        d.goid = e.goid;
        break;
      case EventKind::Exit:
        if (!goid_delta(src, d.goid, e.goid)) return fail(why, "goid missing");
        d.goid = e.goid;
        break;
      case EventKind::Sched: {
        uint64_t len;
        std::span<const uint8_t> body;
        if (!src.varint(len) || !src.bytes(len, body)) return fail(why, "sched record overruns its chunk");
        if (!sched_fields(body, r, defining, e)) return fail(why, "bad sched record field");
        if (e.lag_ns > e.time_ns) return fail(why, "sched sample arrived before time 0");
        break;
      }
      case EventKind::Preexisting: {
        if (!goid_delta(src, d.goid, e.goid)) return fail(why, "goid missing");
        if (optional && !goid_delta(src, e.goid, e.other_goid)) return fail(why, "parent missing");
        uint8_t state;
        if (!src.u8(state) || state >= kGoStateCount) return fail(why, "bad goroutine state");
        e.state = static_cast<GoState>(state);
        if (!src.varint(v) || v > UINT32_MAX) return fail(why, "bad wait reason");
        e.wait_reason = static_cast<uint32_t>(v);
        if (!pc(src, r, defining, e.pc) || !pc(src, r, defining, e.start_pc))
          return fail(why, "bad PC reference");
        if (!stack_ref(src, r, defining, e.stack)) return fail(why, "bad stack reference");
        d.goid = e.goid;
        break;
      }
      case EventKind::State: {
        if (!goid_delta(src, d.goid, e.goid)) return fail(why, "goid missing");
        uint8_t state;
        if (!src.u8(state) || state >= kGoStateCount) return fail(why, "bad goroutine state");
        e.state = static_cast<GoState>(state);
        d.goid = e.goid;
        break;
      }
      default:
        return fail(why, "unknown record kind");
    }
    return Outcome::Event;
  }

 private:
  static Outcome fail(const char*& why, const char* what) {
    why = what;
    return Outcome::Error;
  }
  static bool goid_delta(ByteSource& src, uint64_t base, uint64_t& out) {
    uint64_t v;
    if (!src.varint(v)) return false;
    out = apply_delta(base, v);
    return true;
  }
  static bool pc(ByteSource& src, TraceReader& r, bool defining, uint64_t& out) {
    uint64_t ref;
    if (!src.varint(ref)) return false;
    if (ref == 0) {
      if (!src.varint(out)) return false;
      if (defining) r.pcs_.push_back(out);
      return true;
    }
    if (ref - 1 >= r.pcs_.size()) return false;
    out = r.pcs_[ref - 1];
    return true;
  }
  static bool stack_ref(ByteSource& src, TraceReader& r, bool defining, StackId& out) {
    uint64_t id;
    if (!src.varint(id)) return false;
    if (defining && id >= r.stack_count()) return false;
    out = static_cast<StackId>(id);
    return true;
  }
  // A labels record: in the defining pass its set is interned (r.defined_labels_); the caller
  // attaches it to the event before.
  static Outcome labels(ByteSource& src, TraceReader& r, bool defining, const char*& why) {
    uint64_t len;
    std::span<const uint8_t> body;
    if (!src.varint(len) || !src.bytes(len, body)) return fail(why, "labels record overruns its chunk");
    if (!defining) return Outcome::Labels;
    std::vector<std::pair<StringId, StringId>> ids;
    if (!decode_labels(body, r.defined_labels_goid_, ids)) return fail(why, "bad labels record");
    for (auto [k, v] : ids) {
      if (k >= r.strings_.size() || v >= r.strings_.size()) return fail(why, "bad string reference in labels");
    }
    auto [it, added] = r.label_index_.try_emplace(ids, static_cast<uint32_t>(r.label_sets_.size()));
    if (added) {
      Labels set;
      for (auto [k, v] : ids) set.push_back(Label{r.strings_[k], r.strings_[v]});
      std::sort(set.begin(), set.end());
      r.label_sets_.push_back(std::move(set));
    }
    r.defined_labels_ = it->second;
    return Outcome::Labels;
  }
  static Outcome string_def(ByteSource& src, TraceReader& r, bool defining, const char*& why) {
    uint64_t len;
    std::span<const uint8_t> bytes;
    if (!src.varint(len) || !src.bytes(len, bytes)) return fail(why, "string overruns its chunk");
    if (defining) r.strings_.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return Outcome::Definition;
  }
  static Outcome stack_def(ByteSource& src, TraceReader& r, bool defining, const char*& why) {
    uint64_t count;
    // Each frame takes at least one byte, which bounds the count by the bytes left.
    if (!src.varint(count) || count > src.remaining()) return fail(why, "stack overruns its chunk");
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t v;
      if (!pc(src, r, defining, v)) return fail(why, "bad PC reference in stack");
      if (defining) r.stack_pcs_.push_back(v);
    }
    if (defining) r.stack_begin_.push_back(r.stack_pcs_.size());
    return Outcome::Definition;
  }
  static bool sched_fields(std::span<const uint8_t> body, TraceReader& r, bool defining, Event& e) {
    ByteSource f(body);
    while (!f.empty()) {
      uint64_t key, v;
      if (!f.varint(key)) return false;
      if ((key & 1) == 0) {
        if (!f.varint(v)) return false;
        if ((key >> 1) == format::kSchedFieldText) {
          if (defining && v >= r.strings_.size()) return false;
          e.text = static_cast<StringId>(v);
        } else if ((key >> 1) == format::kSchedFieldLag) {
          e.lag_ns = v;
        } else if ((key >> 1) == format::kSchedFieldSpan) {
          e.span_ns = v;
        } else if ((key >> 1) == format::kSchedFieldGReads) {
          if (defining && v >= r.strings_.size()) return false;
          e.g_reads = static_cast<StringId>(v);
        } else if ((key >> 1) == format::kSchedFieldInterval) {
          if (v > UINT32_MAX) return false;
          e.interval_ms = static_cast<uint32_t>(v);
        } else if ((key >> 1) == format::kSchedFieldBegin && v) {
          if (v - 1 > e.time_ns) return false;
          e.dump_begin_ns = e.time_ns - (v - 1);
        } else if ((key >> 1) == format::kSchedFieldEnd && v) {
          if (v - 1 > e.time_ns) return false;
          e.dump_end_ns = e.time_ns - (v - 1);
        }
      } else if (!f.varint(v) || !f.skip(v)) {  // length-delimited field of a newer version
        return false;
      }
    }
    return true;
  }
};

namespace {

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

Result<std::unique_ptr<TraceReader>> TraceReader::open(const std::string& path, const EventVisitor& visit) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(fmt::format("cannot open trace {}: {}", path, strerror(errno)),
                      "check the path (record one with 'gorepro record -o FILE -- PROGRAM')");
  // Block reads: a byte-wise istreambuf_iterator copy took half of open() on a 70 MB trace.
  std::vector<uint8_t> bytes;
  std::error_code size_error;
  if (auto size = std::filesystem::file_size(path, size_error); !size_error) bytes.reserve(size);
  std::vector<char> block(1 << 20);
  do {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    bytes.insert(bytes.end(), block.begin(), block.begin() + in.gcount());
  } while (in);
  if (in.bad()) return make_error(fmt::format("cannot read trace {}", path), "check the file");
  return parse(std::move(bytes), path, visit);
}

Result<std::unique_ptr<TraceReader>> TraceReader::parse(std::vector<uint8_t> bytes, std::string name,
                                                        const EventVisitor& visit, Checksums checksums) {
  const auto checksum_ok = [checksums](uint32_t computed, uint32_t stored) {
    return checksums == Checksums::kIgnore || computed == stored;
  };
  std::unique_ptr<TraceReader> r(new TraceReader());
  r->file_ = std::move(bytes);
  const std::span<const uint8_t> file(r->file_);
  const std::string corrupted_hint = "the trace is corrupted; record it again";

  // Preamble.
  if (file.size() < format::kPreambleSize ||
      !std::equal(std::begin(format::kMagic), std::end(format::kMagic), file.begin())) {
    bool prefix = file.size() < format::kPreambleSize &&
                  std::equal(file.begin(), file.begin() + std::min(file.size(), sizeof format::kMagic),
                             std::begin(format::kMagic));
    if (prefix) return make_error(fmt::format("{} is truncated before its header ({} bytes)", name, file.size()),
                                  "the recording was cut short before it started; record again");
    return make_error(fmt::format("{} is not a gorepro trace (bad magic)", name),
                      "pass a .gtr file written by 'gorepro record'");
  }
  ByteSource pre(file.subspan(sizeof format::kMagic));
  uint16_t major = 0, minor = 0;
  uint32_t pre_crc = 0;
  (void)(pre.fixed16(major) && pre.fixed16(minor) && pre.fixed32(pre_crc));
  if (!checksum_ok(crc32c(file.data(), 12), pre_crc))
    return make_error(fmt::format("{} is corrupted at byte offset 8 (preamble checksum mismatch)", name),
                      corrupted_hint);
  if (major < format::kOldestMajorVersion || major > format::kMajorVersion)
    return make_error(
        fmt::format("{} uses trace format version {}.{}; this gorepro reads versions {}.x to {}.{}", name, major,
                    minor, format::kOldestMajorVersion, format::kMajorVersion, format::kMinorVersion),
        major > format::kMajorVersion ? "use a newer gorepro to read this trace"
                                      : "this trace was written by an incompatible gorepro");
  r->major_ = major;

  size_t off = format::kPreambleSize;
  bool have_header = false;
  std::vector<uint8_t> scratch;
  while (off < file.size()) {
    const size_t rest = file.size() - off;
    auto lost = [&](const char* why) {
      r->warnings_.push_back(fmt::format(
          "{} is truncated: the last {} bytes ({}) were lost; read {} events up to byte offset {}", name,
          rest, why, r->event_count_, off));
    };
    if (rest < format::kChunkHeaderSize || all_zero(file.subspan(off))) {
      if (!have_header) break;
      lost(rest < format::kChunkHeaderSize ? "an incomplete chunk header" : "zero fill");
      off = file.size();
      break;
    }
    ByteSource h(file.subspan(off, format::kChunkHeaderSize));
    uint8_t type = 0, flags = 0;
    uint16_t reserved = 0;
    uint32_t stored_len = 0, raw_len = 0, payload_crc = 0, header_crc = 0;
    (void)(h.u8(type) && h.u8(flags) && h.fixed16(reserved) && h.fixed32(stored_len) &&
           h.fixed32(raw_len) && h.fixed32(payload_crc) && h.fixed32(header_crc));
    if (!checksum_ok(crc32c(file.data() + off, 16), header_crc))
      return make_error(fmt::format("{} is corrupted at byte offset {} (chunk header checksum mismatch)", name, off),
                        corrupted_hint);
    if (reserved != 0 || (flags & ~format::kChunkFlagZstd) || stored_len > format::kMaxChunkBytes ||
        raw_len > format::kMaxChunkBytes)
      return make_error(fmt::format("{} has an invalid chunk header at byte offset {}", name, off), corrupted_hint);
    if (stored_len > rest - format::kChunkHeaderSize) {
      if (!have_header) break;
      lost("an incomplete chunk");
      off = file.size();
      break;
    }
    auto stored = file.subspan(off + format::kChunkHeaderSize, stored_len);
    if (!checksum_ok(crc32c(stored.data(), stored.size()), payload_crc))
      return make_error(fmt::format("{} is corrupted in the chunk at byte offset {} (checksum mismatch)", name, off),
                        corrupted_hint);
    std::span<const uint8_t> payload = stored;
    if (flags & format::kChunkFlagZstd) {
      std::vector<uint8_t> out(raw_len);
      size_t n = ZSTD_decompress(out.data(), out.size(), stored.data(), stored.size());
      if (ZSTD_isError(n) || n != raw_len)
        return make_error(fmt::format("{} has an undecompressable chunk at byte offset {}", name, off), corrupted_hint);
      r->inflated_.push_back(std::move(out));
      payload = r->inflated_.back();
    } else if (raw_len != stored_len) {
      return make_error(fmt::format("{} has an invalid chunk header at byte offset {}", name, off), corrupted_hint);
    }
    const size_t chunk_off = off;
    off += format::kChunkHeaderSize + stored_len;

    if (!have_header) {
      if (type != format::kChunkHeader)
        return make_error(fmt::format("{} has no header chunk", name), corrupted_hint);
      auto j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded())
        return make_error(fmt::format("{} has a malformed header (not JSON)", name), corrupted_hint);
      auto header = header_from_json(j);
      if (!header) return make_error(fmt::format("{}: {}", name, header.error().what), header.error().hint);
      r->header_ = std::move(*header);
      have_header = true;
      continue;
    }
    if (type == format::kChunkEnd) {
      r->has_end_ = true;
      if (off < file.size())
        r->warnings_.push_back(fmt::format("{}: ignored {} bytes after the end marker", name, file.size() - off));
      break;
    }
    if (type != format::kChunkEvents) continue;  // a chunk type from a newer minor version

    // Events chunk: prefix, then records. Every record is decoded now (defining pass).
    ByteSource src(payload);
    Chunk c;
    c.file_offset = chunk_off;
    auto bad = [&](const char* why) {
      return make_error(fmt::format("{} has a malformed chunk at byte offset {} ({}; record at payload byte {})",
                                    name, chunk_off, why, src.position() - payload.data()),
                        corrupted_hint);
    };
    if (!src.varint(c.first_seq) || !src.varint(c.event_count) || !src.varint(c.base_time))
      return bad("chunk prefix missing");
    if (c.first_seq != r->event_count_) return bad("chunk does not continue the event sequence");
    if (c.event_count > src.remaining()) return bad("event count exceeds the chunk");
    c.records = src.position();
    c.records_size = src.remaining();
    Deltas d;
    d.time = c.base_time;
    uint64_t events = 0;
    Event e;
    const char* why = nullptr;
    // The last event is visited once the record after it is known: a labels record there
    // belongs to it.
    bool held = false;
    auto visit_held = [&] {
      if (held && visit) visit(e);
      held = false;
    };
    while (!src.empty()) {
      r->defining_seq_ = r->event_count_ + events;
      const bool after_event = held;
      if (held && (*src.position() & format::kKindMask) != format::kRecLabels) visit_held();
      auto outcome = TraceDecoder::record(src, d, *r, /*defining=*/true, e, why);
      if (outcome == TraceDecoder::Outcome::Error) return bad(why);
      if (outcome == TraceDecoder::Outcome::Labels) {
        if (!after_event || e.goid != r->defined_labels_goid_) return bad("labels record not right after its goroutine's event");
        e.labels = r->defined_labels_;
        r->labels_by_seq_[e.seq] = e.labels;
        visit_held();
      }
      if (outcome == TraceDecoder::Outcome::Event) {
        if (events == 0 && e.time_ns != c.base_time) return bad("first event time differs from the chunk's");
        c.last_time = e.time_ns;
        e.seq = r->event_count_ + events;
        held = true;
        ++events;
      }
    }
    visit_held();
    if (events != c.event_count) return bad("event count differs from the chunk prefix");
    if (events == 0) continue;  // only definitions: nothing for cursors to visit
    r->event_count_ += events;
    r->chunks_.push_back(c);
  }
  if (!have_header)
    return make_error(fmt::format("{} is truncated before the end of its header", name),
                      "the recording was cut short before it started; record again");
  if (!r->has_end_ && r->warnings_.empty())
    r->warnings_.push_back(fmt::format(
        "{} has no end marker: the recording was cut short; {} events were read", name, r->event_count_));
  return r;
}

uint64_t TraceReader::first_time_ns() const {
  return chunks_.empty() ? header_.clock.monotonic_ns : chunks_.front().base_time;
}
uint64_t TraceReader::last_time_ns() const {
  return chunks_.empty() ? header_.clock.monotonic_ns : chunks_.back().last_time;
}

std::span<const uint64_t> TraceReader::stack(StackId id) const {
  if (id >= stack_count()) return {};
  return {stack_pcs_.data() + stack_begin_[id], stack_begin_[id + 1] - stack_begin_[id]};
}

const std::string& TraceReader::string(StringId id) const {
  return id < strings_.size() ? strings_[id] : strings_[0];
}

size_t TraceReader::chunk_of(uint64_t seq) const {
  if (seq >= event_count_) return chunks_.size();
  auto it = std::partition_point(chunks_.begin(), chunks_.end(),
                                 [&](const Chunk& c) { return c.first_seq + c.event_count <= seq; });
  return static_cast<size_t>(it - chunks_.begin());
}

uint64_t TraceReader::first_seq_after(uint64_t time_ns) const {
  auto it = std::partition_point(chunks_.begin(), chunks_.end(),
                                 [&](const Chunk& c) { return c.last_time <= time_ns; });
  if (it == chunks_.end()) return event_count_;
  Cursor cur(*this, static_cast<size_t>(it - chunks_.begin()));
  Event e;
  while (cur.next(e))
    if (e.time_ns > time_ns) return e.seq;
  return event_count_;
}

TraceReader::Cursor TraceReader::cursor(uint64_t seq) const {
  Cursor c(*this, chunk_of(seq));
  Event skipped;
  while (c.position() < seq && c.next(skipped)) {
  }
  return c;
}

TraceReader::Cursor::Cursor(const TraceReader& r, size_t chunk) : reader_(&r) { enter_chunk(chunk); }

void TraceReader::Cursor::enter_chunk(size_t chunk) {
  chunk_ = chunk;
  if (chunk_ >= reader_->chunks_.size()) {
    p_ = end_ = nullptr;
    seq_ = reader_->event_count_;
    return;
  }
  const Chunk& c = reader_->chunks_[chunk_];
  p_ = c.records;
  end_ = c.records + c.records_size;
  seq_ = c.first_seq;
  d_ = Deltas{};
  d_.time = c.base_time;
}

bool TraceReader::Cursor::next(Event& e) {
  for (;;) {
    if (p_ == end_) {
      if (chunk_ >= reader_->chunks_.size()) return false;
      enter_chunk(chunk_ + 1);
      continue;
    }
    ByteSource src({p_, end_});
    const char* why = nullptr;
    // The defining pass validated these bytes, so decoding cannot fail here; the const_cast
    // is safe because a non-defining pass never writes to the reader.
    auto outcome = TraceDecoder::record(src, d_, const_cast<TraceReader&>(*reader_), false, e, why);
    GOREPRO_CHECK(outcome != TraceDecoder::Outcome::Error, why);
    p_ = src.position();
    if (outcome == TraceDecoder::Outcome::Event) {
      e.seq = seq_++;
      // Its labels record, if one follows.
      if (p_ != end_ && reader_->major_ >= 2 && (*p_ & format::kKindMask) == format::kRecLabels) {
        ByteSource lsrc({p_, end_});
        TraceDecoder::record(lsrc, d_, const_cast<TraceReader&>(*reader_), false, e, why);
        p_ = lsrc.position();
        auto it = reader_->labels_by_seq_.find(e.seq);
        if (it != reader_->labels_by_seq_.end()) e.labels = it->second;
      }
      return true;
    }
  }
}

ChunkStream::ChunkStream() : r_(new TraceReader()) { r_->major_ = format::kMajorVersion; }
ChunkStream::~ChunkStream() = default;

Status ChunkStream::decode(std::span<const uint8_t> records, uint64_t base_time,
                           const TraceReader::EventVisitor& visit) {
  ByteSource src(records);
  TraceReader::Deltas d;
  d.time = base_time;
  Event e;
  const char* why = nullptr;
  while (!src.empty()) {
    r_->defining_seq_ = r_->event_count_;
    auto outcome = TraceDecoder::record(src, d, *r_, /*defining=*/true, e, why);
    if (outcome == TraceDecoder::Outcome::Error)
      return make_error(fmt::format("flight recorder: a chunk it dropped does not decode ({})", why),
                        "this is a gorepro bug; record without --ring");
    if (outcome == TraceDecoder::Outcome::Event) {
      e.seq = r_->event_count_++;
      if (visit) visit(e);
    }
  }
  return Ok{};
}

}  // namespace gorepro::replay
