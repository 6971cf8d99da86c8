#include "replay/replayer.h"

namespace gorepro::replay {

Replayer::Layer::Layer() : Layer(Options{}) {}

void Replayer::Layer::lay(const Event& e) {
  table_.apply(e);
  const uint64_t pos = table_.events_applied();
  if (options_.checkpoint_interval && pos >= last_checkpoint_ + options_.checkpoint_interval) {
    checkpoints_.emplace(pos, table_);
    last_checkpoint_ = pos;
  }
}

Replayer::Replayer(const TraceReader& reader, Options options)
    : reader_(reader), options_(options), table_(options.keep_dead), cursor_(reader.cursor(0)) {}

Replayer::Replayer(const TraceReader& reader, Layer&& laid)
    : Replayer(reader, laid.options_) {
  GOREPRO_CHECK(laid.table_.events_applied() == reader.event_count(), "the layer saw another trace's events");
  checkpoints_ = std::move(laid.checkpoints_);
  // The table after the last event is a checkpoint too: `goto end` and reports cost a copy.
  if (reader.event_count() > 0) checkpoints_.insert_or_assign(reader.event_count(), std::move(laid.table_));
  laid_ = true;
}

bool Replayer::step(Event* applied) {
  Event e;
  if (!cursor_.next(e)) return false;
  table_.apply(e);
  if (applied) *applied = e;
  maybe_checkpoint();
  return true;
}

void Replayer::maybe_checkpoint() {
  if (laid_ || options_.checkpoint_interval == 0) return;
  uint64_t pos = position();
  if (pos < last_checkpoint_ + options_.checkpoint_interval || pos >= reader_.event_count()) return;
  // Only at chunk starts, where a cursor can resume without decoding from earlier.
  size_t chunk = reader_.chunk_of(pos);
  if (reader_.chunks()[chunk].first_seq != pos) return;
  checkpoints_.try_emplace(pos, table_);
  last_checkpoint_ = pos;
}

void Replayer::restore(uint64_t seq, const GoroutineTable& table) {
  table_ = table;
  cursor_ = reader_.cursor(seq);
  last_checkpoint_ = seq;
}

void Replayer::seek(uint64_t seq) {
  if (seq > reader_.event_count()) seq = reader_.event_count();
  // The best starting point: the latest checkpoint at or before seq, if it beats where we are.
  auto it = checkpoints_.upper_bound(seq);
  if (it != checkpoints_.begin()) {
    --it;
    if (it->first > position() || seq < position()) restore(it->first, it->second);
  }
  if (seq < position()) restore(0, GoroutineTable(options_.keep_dead));
  while (position() < seq && step()) {
  }
}

}  // namespace gorepro::replay
