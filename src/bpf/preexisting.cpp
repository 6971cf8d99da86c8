#include "bpf/preexisting.h"

#include <algorithm>
#include <unordered_set>

#include "tracer/event_decoder.h"
#include "util/target_memory.h"

namespace gorepro::bpf {

namespace {

// Interns stacks in the real sink, keeps the events.
class HoldingSink : public tracer::EventSink {
 public:
  explicit HoldingSink(tracer::EventSink& next) : next_(next) {}
  replay::StackId intern_stack(std::span<const uint64_t> pcs) override { return next_.intern_stack(pcs); }
  Status emit(const replay::Event& e) override {
    held.push_back(e);
    return Ok{};
  }
  std::vector<replay::Event> held;

 private:
  tracer::EventSink& next_;
};

}  // namespace

Result<std::vector<replay::Event>> read_preexisting(const GoBinary& binary, pid_t pid, uint64_t bias, int stack_depth,
                                                    uint64_t t0, tracer::EventSink& sink) {
  ProcessMemory memory(pid);
  HoldingSink holding(sink);
  auto decoder = tracer::EventDecoder::make(binary, memory, bias, holding, stack_depth);
  if (!decoder) return decoder.error();
  if (auto n = decoder->snapshot_goroutines(t0); !n) return n.error();
  return std::move(holding.held);
}

void reconcile(std::vector<replay::Event>& held, const RecordBatch& batch, pid_t pid) {
  std::unordered_set<uint64_t> created;
  for (const Decoded& d : batch.items) {
    if (d.pid == pid && d.kind == Decoded::Kind::kEvent && d.event.kind == replay::EventKind::Create) {
      created.insert(d.event.goid);
    }
  }
  std::erase_if(held, [&](const replay::Event& e) { return created.count(e.goid) != 0; });
}

}  // namespace gorepro::bpf
