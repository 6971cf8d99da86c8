#include "replay/trace_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zstd.h>

#include "replay/byte_codec.h"
#include "replay/crc32c.h"
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

}  // namespace

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
}

TraceWriter::~TraceWriter() {
  if (fd_ >= 0) (void)close();
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

Status TraceWriter::append(const Event& e) {
  if (failed_) return *failed_;
  if (chunk_events_ == 0) {
    chunk_first_seq_ = next_seq_;
    chunk_base_time_ = e.time_ns;
    reset_deltas();
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
                                                 {format::kSchedFieldGReads, e.g_reads}};
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

Status TraceWriter::flush_if_due(uint64_t now_ns) {
  if (failed_) return *failed_;
  if (chunk_events_ > 0 && now_ns - chunk_base_time_ >= options_.chunk_max_age_ns) return flush();
  return Ok{};
}

Status TraceWriter::flush() {
  if (failed_) return *failed_;
  if (chunk_events_ == 0 && body_.empty()) return Ok{};
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

Status TraceWriter::copy_to(const std::string& path) {
  if (fd_ < 0) return make_error(fmt::format("the trace {} is closed", path_), "");
  if (Status st = flush(); !st) return st;
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
  if (s) s = write_chunk(format::kChunkEnd, end_payload());
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
