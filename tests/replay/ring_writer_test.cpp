// TraceWriter with a ring (record --ring): the file is the last window of whole chunks, readable
// on its own — the goroutines alive at the window's start as preexisting records with their
// state, sites and block stack, PCs and stacks first defined long before the window still
// resolving, sequence numbers from 0 — and a dump taken mid-way (copy_to) is a complete trace
// while the writer goes on. Expected values come from how the events are built here.
#include <gtest/gtest.h>

#include <map>

#include "replay/trace_reader.h"
#include "replay/trace_writer.h"
#include "replay_test_support.h"

namespace gorepro::replay {
namespace {

using namespace gorepro::replay::testing;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kT0 = 1'000'000'000;
constexpr uint64_t kHoldGopc = 0x401005, kHoldStart = 0x402000, kChurnGopc = 0x401105, kChurnStart = 0x403000;
constexpr uint64_t kLeakGopc = 0x401205, kLeakStart = 0x404000;  // first seen inside the window

TraceWriterOptions ring_options() {
  TraceWriterOptions o;
  o.chunk_bytes = 256;
  o.chunk_max_age_ns = 10 * kMs;
  o.ring_window_ns = 100 * kMs;
  return o;
}

struct Built {
  std::vector<uint64_t> held;  // goids parked before the window, alive at its end
  std::vector<uint64_t> leaked;
  std::vector<uint64_t> hold_block = {0x43a000, 0x43b110, 0x402025};
  uint64_t end = 0;
};

// 6 goroutines parked at t0; 1000 churned (created, parked, woken, exited) 1 ms apart, each with
// a creation stack of its own now and then; in the last 40 ms, 3 leaks at a new go statement.
void build(TraceWriter& w, Built& b, const std::function<void(uint64_t)>& at_ms = {}) {
  uint64_t t = kT0;
  const StackId hold_stack = w.intern_stack(b.hold_block);
  for (uint64_t g = 10; g < 16; ++g) {
    must(w.append(Event::create(t, 1, 1, g, kHoldGopc, kHoldStart, 0)));
    must(w.append(Event::park(t + 1, 2, g, kChanReceive, 0xc000100000 + g, hold_stack)));
    b.held.push_back(g);
  }
  for (uint64_t i = 0; i < 1000; ++i) {
    t = kT0 + (i + 1) * kMs;
    const uint64_t g = 100 + i;
    std::vector<uint64_t> creation = {kChurnGopc, 0x401300 + (i % 50) * 16};
    must(w.append(Event::create(t, 1, 1, g, kChurnGopc, kChurnStart, w.intern_stack(creation))));
    must(w.append(Event::park(t + 10, 3, g, kChanSend, 0, 0)));
    must(w.append(Event::ready(t + 20, 1, g, 1)));
    must(w.append(Event::exit(t + 30, 3, g)));
    if (i >= 960 && i % 10 == 0) {
      const uint64_t leak = 5000 + i;
      must(w.append(Event::create(t + 40, 1, 1, leak, kLeakGopc, kLeakStart, 0)));
      must(w.append(Event::park(t + 50, 4, leak, kSelect, 0, w.intern_stack(std::vector<uint64_t>{0x43a000, 0x404020}))));
      b.leaked.push_back(leak);
    }
    if (at_ms) at_ms(i);
  }
  b.end = t + 50;
}

TEST(RingWriter, TheFileIsTheLastWindowWithTheGoroutinesAliveAtItsStart) {
  Built b;
  const std::string path = write_trace("ring.gtr", [&](TraceWriter& w) { build(w, b); }, ring_options());
  auto r = TraceReader::open(path);
  ASSERT_TRUE(r) << r.error().message();
  const TraceReader& tr = **r;
  EXPECT_TRUE(tr.warnings().empty()) << tr.warnings().front();
  EXPECT_TRUE(tr.has_end_marker());
  ASSERT_TRUE(tr.window());
  const SnapshotMark& w = *tr.window();
  EXPECT_EQ(w.window_ns, 100 * kMs);
  EXPECT_GT(w.dropped_events, 3000u);
  // Whole chunks of at most 10 ms: the window spans 100 ms, give or take one chunk.
  EXPECT_GE(tr.last_time_ns() - w.time_ns, 90 * kMs);
  EXPECT_LE(tr.last_time_ns() - w.time_ns, 110 * kMs);
  EXPECT_FALSE(tr.snapshots().sampled());

  std::map<uint64_t, Event> pre;
  std::vector<uint64_t> leak_creates;
  Event e;
  for (auto cur = tr.cursor(); cur.next(e);) {
    if (e.kind == EventKind::Preexisting) {
      EXPECT_EQ(e.time_ns, w.time_ns);
      EXPECT_TRUE(leak_creates.empty()) << "preexisting records come first";
      pre[e.goid] = e;
    } else {
      EXPECT_GE(e.time_ns, w.time_ns);
    }
    if (e.kind == EventKind::Create && e.pc == kLeakGopc) {
      EXPECT_EQ(e.start_pc, kLeakStart);
      leak_creates.push_back(e.goid);
    }
    if (e.kind == EventKind::Create && e.pc == kChurnGopc) {
      // A creation stack: both PCs resolve, whether first defined before the window or in it.
      auto s = tr.stack(e.stack);
      ASSERT_EQ(s.size(), 2u);
      EXPECT_EQ(s[0], kChurnGopc);
      EXPECT_EQ((s[1] - 0x401300) % 16, 0u);
    }
  }
  EXPECT_EQ(w.goroutines, pre.size());
  for (uint64_t g : b.held) {
    ASSERT_TRUE(pre.count(g)) << "held goroutine " << g << " is not in the window's prologue";
    const Event& p = pre[g];
    EXPECT_EQ(p.state, GoState::Waiting);
    EXPECT_EQ(p.wait_reason, kChanReceive);
    EXPECT_EQ(p.pc, kHoldGopc);
    EXPECT_EQ(p.start_pc, kHoldStart);
    EXPECT_EQ(p.other_goid, 1u);
    auto s = tr.stack(p.stack);
    EXPECT_EQ(std::vector<uint64_t>(s.begin(), s.end()), b.hold_block);
  }
  // Besides the held ones, at most the churned goroutine alive at the cut.
  EXPECT_LE(pre.size(), b.held.size() + 1);
  EXPECT_EQ(leak_creates, b.leaked);
}

TEST(RingWriter, SizeBoundKeepsTheFileUnderIt) {
  Built b;
  TraceWriterOptions o = ring_options();
  o.ring_window_ns = 0;
  o.ring_bytes = 8 * 1024;
  const std::string path = write_trace("ring-size.gtr", [&](TraceWriter& w) { build(w, b); }, o);
  EXPECT_LE(read_bytes(path).size(), 8u * 1024);
  auto r = TraceReader::open(path);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE((*r)->window());
  EXPECT_EQ((*r)->window()->window_bytes, 8u * 1024);
  EXPECT_GT((*r)->event_count(), 200u);
}

TEST(RingWriter, ADumpMidwayIsACompleteTraceAndTheWriterGoesOn) {
  Built b;
  const std::string dump = scratch_path("ring-dump.gtr");
  TraceWriter* writer = nullptr;
  const std::string path = write_trace("ring-after-dump.gtr", [&](TraceWriter& w) {
    writer = &w;
    build(w, b, [&](uint64_t i) {
      if (i == 500) must(writer->copy_to(dump));
    });
  }, ring_options());
  auto d = TraceReader::open(dump);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_TRUE((*d)->has_end_marker());
  ASSERT_TRUE((*d)->window());
  EXPECT_LE((*d)->last_time_ns(), kT0 + 502 * kMs);
  EXPECT_GE((*d)->last_time_ns(), kT0 + 500 * kMs);
  auto f = TraceReader::open(path);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_GE((*f)->last_time_ns(), kT0 + 1000 * kMs);
}

}  // namespace
}  // namespace gorepro::replay
