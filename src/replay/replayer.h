// Replayer: moves a GoroutineTable through a trace — forward by stepping, backward or far
// forward by restoring a checkpoint (a copy of the table taken at a chunk boundary every
// `checkpoint_interval` events during forward passes) and decoding forward from there, so
// asking for "the table at event N" never rescans from event 0 once a pass has gone by N.
// Invariant: table() reflects exactly the events [0, position()).
#pragma once

#include <cstdint>
#include <map>

#include "replay/goroutine_table.h"
#include "replay/trace_reader.h"

namespace gorepro::replay {

class Replayer {
 public:
  struct Options {
    uint64_t checkpoint_interval = 1 << 20;  // 0: take no checkpoints
    bool keep_dead = false;                  // see GoroutineTable
  };

  explicit Replayer(const TraceReader& reader) : Replayer(reader, Options{}) {}
  Replayer(const TraceReader& reader, Options options);

  const GoroutineTable& table() const { return table_; }
  uint64_t position() const { return table_.events_applied(); }

  // Applies the next event; false at the end of the trace.
  bool step(Event* applied = nullptr);
  // Makes table() reflect events [0, seq) (seq is clamped to the event count).
  void seek(uint64_t seq);
  // The table "at event seq": after applying event seq itself.
  void seek_to_event(uint64_t seq) { seek(seq + 1); }
  // Makes table() reflect every event with time <= time_ns.
  void seek_time(uint64_t time_ns) { seek(reader_.first_seq_after(time_ns)); }
  void run_to_end() { seek(reader_.event_count()); }

  size_t checkpoint_count() const { return checkpoints_.size(); }

 private:
  void restore(uint64_t seq, const GoroutineTable& table);
  void maybe_checkpoint();

  const TraceReader& reader_;
  Options options_;
  GoroutineTable table_;
  TraceReader::Cursor cursor_;
  std::map<uint64_t, GoroutineTable> checkpoints_;  // by position; always at chunk starts
  uint64_t last_checkpoint_ = 0;
};

}  // namespace gorepro::replay
