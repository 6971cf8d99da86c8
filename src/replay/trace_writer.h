// TraceWriter: the one way traces get written. Every backend feeds it Events from a single
// thread; it interns stacks and strings, delta-encodes events into a chunk buffer and writes a
// chunk (length + CRC32C, optionally zstd) when the buffer reaches its size bound or its oldest
// event its age bound — so a killed recording loses at most the last chunk.
// Invariants: appended events get dense sequence numbers 0,1,2,... in call order; an interned
// id is written to the file before any event that uses it; after an I/O error every call
// returns that error and nothing more is written.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "replay/event.h"
#include "replay/labels.h"
#include "replay/lost_events.h"
#include "replay/leak_verdicts.h"
#include "replay/snapshot_mark.h"
#include "replay/trace_header.h"
#include "util/result.h"

namespace gorepro::replay {

struct TraceWriterOptions {
  size_t chunk_bytes = 64 * 1024;            // flush when the encoded chunk reaches this size
  uint64_t chunk_max_age_ns = 250'000'000;   // ... or when its first event is this old
  int zstd_level = 0;                        // 0: store chunks uncompressed
  // Flight recorder (record --ring): either bound non-zero keeps only the last window of whole
  // chunks in memory, dropping the oldest chunk while the newest event is more than
  // ring_window_ns after the oldest chunk's last one, or while the window's file would exceed
  // ring_bytes; the file is written (the window, docs/ring.md) by close() and copy_to().
  uint64_t ring_window_ns = 0;
  uint64_t ring_bytes = 0;
};

// What the last flight-recorder dump held (TraceWriter::ring_stats).
struct RingStats {
  uint64_t window_events = 0;   // events in the file, the preexisting ones included
  uint64_t preexisting = 0;     // goroutines alive at the window's start
  uint64_t dropped_events = 0;  // events recorded before the window
  uint64_t window_start_ns = 0, window_end_ns = 0;
  uint64_t file_bytes = 0;
};

class TraceWriter {
 public:
  // Creates (truncates) path and writes the preamble and header.
  static Result<std::unique_ptr<TraceWriter>> create(const std::string& path, TraceHeader header,
                                                     TraceWriterOptions options = {});
  ~TraceWriter();  // closes if close() was not called; errors are lost then
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Interning: equal input gives the same id. Stacks are PCs innermost first (see event.h for
  // which frames are return addresses). Allocates only for stacks/strings not seen before.
  StackId intern_stack(std::span<const uint64_t> pcs);
  StringId intern_string(std::string_view s);

  // Appends one event (its seq field is ignored: the writer assigns the next one). Flushes the
  // chunk when a bound is reached. Ids in the event must come from this writer's intern_*.
  Status append(const Event& e) { return append(e, nullptr); }
  // ... followed by a labels record (kind 9): the pprof labels of e's goroutine as seen at e
  // (empty: it has none). The record stays in e's chunk, right after it.
  Status append(const Event& e, const Labels* labels);
  // Records events the backend's transport dropped, at this point among the events (a
  // lost-events record, kind 11: not an event, no seq).
  Status append_lost(const LostEvents& lost);
  // Records that a goroutine snapshot was taken, after the events it produced (kind 12).
  Status append_snapshot(const SnapshotMark& mark);
  // Records the leak verdicts of the report instant (kind 10); evidence strings are interned.
  Status append_verdicts(const LeakVerdicts& verdicts);
  // Flushes the current chunk if its first event is older than the age bound at now_ns
  // (CLOCK_MONOTONIC) — backends call it when idle, so quiet periods still reach the disk.
  Status flush_if_due(uint64_t now_ns);
  Status flush();
  // Flushes and writes the end marker; the trace is complete only after this succeeds.
  Status close();
  // Writes a complete trace of everything so far to path — the chunks written (after flushing
  // the current one) and an end marker — while this writer goes on (`gorepro debug`'s record).
  Status copy_to(const std::string& path);

  uint64_t events_written() const { return next_seq_; }  // = the next event's seq
  // Bytes of the file so far; with a ring, the bytes the window holds in memory.
  uint64_t bytes_written() const;
  bool ring() const { return ring_ != nullptr; }
  const RingStats& ring_stats() const;  // of the last close() or copy_to() (ring only)

 private:
  TraceWriter(int fd, std::string path, TraceWriterOptions options);
  // A length-prefixed extension record (kinds 9-15) at this point among the events.
  Status append_extension(uint8_t kind, const std::vector<uint8_t>& body);
  Status write_chunk(uint8_t type, std::span<const uint8_t> payload);
  void encode_chunk(uint8_t type, std::span<const uint8_t> payload);  // into out_
  std::vector<uint8_t> end_payload() const;
  Status write_all(const uint8_t* data, size_t size);
  void encode_pc(uint64_t pc);
  void reset_deltas();
  // Ring: defines pc in the PC table through a one-frame stack record if it is new, so that
  // the table grows only by stack records and a window's prologue can rebuild it (docs/ring.md).
  void define_pc(uint64_t pc);
  // Ring: writes the window as a whole trace to fd (from its current offset); path for messages.
  Status write_window(int fd, const std::string& path);

  struct Ring;
  std::unique_ptr<Ring> ring_;

  int fd_;
  std::string path_;
  TraceWriterOptions options_;
  std::unique_ptr<Error> failed_;  // sticky first I/O error
  uint64_t next_seq_ = 0;
  uint64_t file_bytes_ = 0;

  // Current chunk: records since the last flush, and the delta state they were encoded with.
  std::vector<uint8_t> body_;
  std::vector<uint8_t> out_;  // staging for header + payload, reused across chunks
  std::vector<uint8_t> zbuf_;
  uint64_t chunk_first_seq_ = 0;
  uint64_t chunk_events_ = 0;
  uint64_t chunk_base_time_ = 0;
  uint64_t prev_time_ = 0, prev_goid_ = 0, prev_created_ = 0, prev_object_ = 0, prev_actor_ = 0;
  uint32_t prev_tid_ = 0;

  // Interning tables. Stacks live in one arena; the map goes from a hash to candidate ids.
  std::unordered_map<uint64_t, uint32_t> pc_index_;
  std::vector<uint64_t> stack_arena_;
  std::vector<uint32_t> stack_begin_;  // stack id -> offset in arena; size = stacks + 1
  std::unordered_multimap<uint64_t, StackId> stack_by_hash_;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, StringId, StringHash, std::equal_to<>> string_ids_;
  StringId next_string_ = 1;
  std::vector<std::pair<StringId, StringId>> label_ids_;  // append()'s scratch
};

}  // namespace gorepro::replay
