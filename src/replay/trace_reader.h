// TraceReader: a validated, random-access view of a .gtr trace. open() reads the file, checks
// every chunk's CRC and decodes every record once — so a malformed trace fails (or, if cut
// short, is truncated to its last whole chunk with a warning) before any tool looks at it —
// and builds the intern tables and a chunk index. Events are then decoded on demand by
// Cursors, starting at any chunk, without holding decoded events in memory.
// Invariants after a successful open: every id an event refers to is in the tables; event
// seqs are 0..event_count()-1 in chunk order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "replay/event.h"
#include "replay/labels.h"
#include "replay/lost_events.h"
#include "replay/leak_verdicts.h"
#include "replay/snapshot_mark.h"
#include "replay/trace_header.h"
#include "util/result.h"

namespace gorepro::replay {

class TraceReader {
  // Delta-decoding state; reset at every chunk start (chunks are self-contained).
  struct Deltas {
    uint64_t time = 0, goid = 0, created = 0, object = 0, actor = 0;
    uint32_t tid = 0;
  };

 public:
  struct Chunk {
    uint64_t file_offset = 0;  // of the chunk header
    uint64_t first_seq = 0;
    uint64_t event_count = 0;
    uint64_t base_time = 0;    // time of its first event
    uint64_t last_time = 0;    // time of its last event
    const uint8_t* records = nullptr;  // decoded payload after the chunk prefix
    size_t records_size = 0;
  };

  // Sees every event once, in order and with its seq, as the validating pass decodes it, so a
  // consumer of the whole trace (Replayer's checkpoints) needs no second pass. When open then
  // fails, it has seen events of a trace that does not exist: discard what it built.
  using EventVisitor = std::function<void(const Event&)>;

  static Result<std::unique_ptr<TraceReader>> open(const std::string& path, const EventVisitor& visit = {});
  // Parses a trace held in memory; name appears in messages. Used by open(), tests and fuzzing.
  // kIgnore accepts any checksum so that mutated inputs reach the decoders behind it: the fuzz
  // targets' setting, never a reader's.
  enum class Checksums { kVerify, kIgnore };
  static Result<std::unique_ptr<TraceReader>> parse(std::vector<uint8_t> bytes, std::string name,
                                                    const EventVisitor& visit = {},
                                                    Checksums checksums = Checksums::kVerify);

  const TraceHeader& header() const { return header_; }
  uint16_t format_major() const { return major_; }
  // Non-fatal problems, one line each (truncation, missing end marker).
  const std::vector<std::string>& warnings() const { return warnings_; }
  uint64_t event_count() const { return event_count_; }
  // Events the recording's transport dropped (eBPF ring buffer full), summed over the trace's
  // lost-events records; the goroutines named have incomplete histories.
  const LossSummary& losses() const { return losses_; }
  // The snapshots of a sampled recording (`record --snapshot`); count 0 when the trace
  // followed every event.
  const SnapshotSummary& snapshots() const { return snapshots_; }
  // A flight-recorder dump (`record --ring`): where its window starts and what was left out
  // before it; nullopt for a trace of a whole recording.
  const std::optional<SnapshotMark>& window() const { return window_; }
  // The leak verdicts taken at the report instant (kind 10), when the recording made them.
  const std::optional<LeakVerdicts>& verdicts() const { return verdicts_; }
  // A set of pprof labels by the id events carry (Event::labels); id 0 and unknown ids: none.
  const Labels& labels(uint32_t id) const { return id < label_sets_.size() ? label_sets_[id] : label_sets_[0]; }
  // Whether any event carries labels (the program set pprof labels and the backend read them).
  bool has_labels() const { return label_sets_.size() > 1; }
  bool has_end_marker() const { return has_end_; }
  uint64_t first_time_ns() const;  // of event 0 (clock base if there are none)
  uint64_t last_time_ns() const;   // of the last event (clock base if there are none)
  // The recording's start, which times "since the start" count from: the clock base, or the
  // first event's time when the header has none.
  uint64_t start_time_ns() const { return header_.clock.monotonic_ns ? header_.clock.monotonic_ns : first_time_ns(); }

  std::span<const uint64_t> stack(StackId id) const;  // empty for unknown ids
  const std::string& string(StringId id) const;       // "" for unknown ids
  size_t string_count() const { return strings_.size(); }  // including the empty string 0
  size_t stack_count() const { return stack_begin_.size() - 1; }  // including the empty stack 0
  const std::vector<Chunk>& chunks() const { return chunks_; }
  // The index of the chunk holding event seq (chunks().size() if seq >= event_count()).
  size_t chunk_of(uint64_t seq) const;
  // The first event whose time is after t (event_count() if none), assuming times never
  // decrease, which TraceWriter's users guarantee by using one monotonic clock.
  uint64_t first_seq_after(uint64_t time_ns) const;

  // Decodes events in order starting at a seq.
  class Cursor {
   public:
    // Fills e with the next event; false at the end of the trace.
    bool next(Event& e);
    uint64_t position() const { return seq_; }  // seq of the event next() returns

   private:
    friend class TraceReader;
    Cursor(const TraceReader& r, size_t chunk);
    void enter_chunk(size_t chunk);
    const TraceReader* reader_;
    size_t chunk_;
    const uint8_t* p_ = nullptr;
    const uint8_t* end_ = nullptr;
    uint64_t seq_ = 0;
    Deltas d_;
  };
  Cursor cursor(uint64_t seq = 0) const;

 private:
  friend class TraceDecoder;
  friend class ChunkStream;
  TraceReader() = default;

  std::vector<uint8_t> file_;
  std::vector<std::vector<uint8_t>> inflated_;  // decompressed payloads; chunks point into them
  TraceHeader header_;
  std::vector<std::string> warnings_;
  std::vector<Chunk> chunks_;
  uint64_t event_count_ = 0;
  bool has_end_ = false;
  uint16_t major_ = 0;  // format version of the file (record kinds differ between 1.x and 2.x)
  LossSummary losses_;
  SnapshotSummary snapshots_;
  std::optional<SnapshotMark> window_;
  std::optional<LeakVerdicts> verdicts_;
  uint64_t defining_seq_ = 0;  // defining pass: the seq of the next event (where a loss record sits)
  std::vector<uint64_t> pcs_;  // PC table in order of first appearance
  std::vector<uint64_t> stack_pcs_;
  std::vector<size_t> stack_begin_{0, 0};
  std::vector<std::string> strings_{""};
  // Label sets, deduplicated (0: none), and which event each labels record followed.
  std::vector<Labels> label_sets_{Labels{}};
  std::map<std::vector<std::pair<StringId, StringId>>, uint32_t> label_index_;
  std::unordered_map<uint64_t, uint32_t> labels_by_seq_;
  uint32_t defined_labels_ = 0;      // defining pass: the set the last labels record named
  uint64_t defined_labels_goid_ = 0;  // ... and its goroutine
};

}  // namespace gorepro::replay

namespace gorepro::replay {

// Decodes events chunks one after another as a writer produced them, without a file: the
// flight recorder (TraceWriter with a ring) feeds it each chunk it drops, oldest first, so its
// tables are the trace's intern tables up to the window's start.
class ChunkStream {
 public:
  ChunkStream();
  ~ChunkStream();
  // records: an events chunk's records (after its prefix); base_time: its prefix's. Defines
  // what the records define and calls visit with each event (seq counted from 0 over all
  // chunks fed). An error means the bytes are not what a TraceWriter writes.
  Status decode(std::span<const uint8_t> records, uint64_t base_time, const TraceReader::EventVisitor& visit);
  // The intern tables so far (stack(), string(), stack_count(), string_count()).
  const TraceReader& tables() const { return *r_; }
  // The PC table so far, in order of first appearance.
  const std::vector<uint64_t>& pcs() const { return r_->pcs_; }

 private:
  std::unique_ptr<TraceReader> r_;
};

}  // namespace gorepro::replay
