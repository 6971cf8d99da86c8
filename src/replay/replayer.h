// Replayer: moves a GoroutineTable through a trace — forward by stepping, backward or far
// forward by restoring a checkpoint (a copy of the table every `checkpoint_interval` events)
// and decoding forward from there, so asking for "the table at event N" never replays more
// than an interval. Checkpoints are laid either all at once while the trace is opened (a
// Layer fed by TraceReader's validating pass: what TraceSession does, so that even the first
// move after opening is short) or, without a Layer, during forward passes as they go by.
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

  // Lays the checkpoints of a whole trace from its events in order, the last one after the
  // last event. Pass visitor() to TraceReader::open, then the Layer to the Replayer: opening
  // then costs the table's apply() per event on top of the reader's own decoding pass.
  class Layer {
   public:
    Layer();
    explicit Layer(Options options) : options_(options), table_(options.keep_dead) {}
    Layer(const Layer&) = delete;  // visitor() points at it
    Layer& operator=(const Layer&) = delete;

    void lay(const Event& e);
    TraceReader::EventVisitor visitor() {
      return [this](const Event& e) { lay(e); };
    }

   private:
    friend class Replayer;
    Options options_;
    GoroutineTable table_;
    std::map<uint64_t, GoroutineTable> checkpoints_;
    uint64_t last_checkpoint_ = 0;
  };

  explicit Replayer(const TraceReader& reader) : Replayer(reader, Options{}) {}
  Replayer(const TraceReader& reader, Options options);
  // With the checkpoints a Layer laid from every event of reader; lays none itself.
  Replayer(const TraceReader& reader, Layer&& laid);

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
  // The checkpoint at the greatest position <= seq: that position and the table there (events
  // [0, position) applied); {0, nullptr} when there is none.
  std::pair<uint64_t, const GoroutineTable*> checkpoint_at_or_before(uint64_t seq) const {
    auto it = checkpoints_.upper_bound(seq);
    if (it == checkpoints_.begin()) return {0, nullptr};
    --it;
    return {it->first, &it->second};
  }

 private:
  void restore(uint64_t seq, const GoroutineTable& table);
  void maybe_checkpoint();

  const TraceReader& reader_;
  Options options_;
  GoroutineTable table_;
  TraceReader::Cursor cursor_;
  std::map<uint64_t, GoroutineTable> checkpoints_;  // by position
  uint64_t last_checkpoint_ = 0;
  bool laid_ = false;  // by a Layer: take no more
};

}  // namespace gorepro::replay
