// Sched events in the trace format: the raw block and its arrival times survive a round trip,
// and a sample without arrival times is encoded exactly as format 1.0 encoded it.
#include <gtest/gtest.h>

#include "replay/trace_reader.h"
#include "replay_test_support.h"

namespace gorepro::replay {
namespace {

using testing::write_trace;

std::vector<Event> read_all(const std::string& path) {
  auto r = TraceReader::open(path);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  std::vector<Event> out;
  if (!r) return out;
  auto c = (*r)->cursor();
  for (Event e; c.next(e);) out.push_back(e);
  return out;
}

TEST(SchedEvent, ArrivalLagAndSpanRoundTrip) {
  std::string path = write_trace("sched.gtr", [](TraceWriter& w) {
    ASSERT_TRUE(w.append(Event::exit(1'000'000'100, 7, 5)));
    StringId text = w.intern_string("SCHED 3ms: gomaxprocs=1 idleprocs=0 threads=2 spinningthreads=0 idlethreads=0 runqueue=0 [0]\n");
    ASSERT_TRUE(w.append(Event::sched(1'000'000'300, text, 250, 40)));
  });
  auto events = read_all(path);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, EventKind::Sched);
  EXPECT_EQ(events[1].lag_ns, 250u);
  EXPECT_EQ(events[1].span_ns, 40u);
  EXPECT_EQ(events[1].sched_first_ns(), 1'000'000'050u);
  EXPECT_EQ(events[1].sched_last_ns(), 1'000'000'090u);
}

TEST(SchedEvent, DumpBeginAndEndRoundTripIncludingBeginAtTheEventTime) {
  std::string path = write_trace("dump.gtr", [](TraceWriter& w) {
    StringId text = w.intern_string("x");
    Event e = Event::sched(1'000'000'500, text, 100, 20);
    e.dump_begin_ns = 1'000'000'200, e.dump_end_ns = 1'000'000'500;
    ASSERT_TRUE(w.append(e));
  });
  auto events = read_all(path);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].dump_begin_ns, 1'000'000'200u);
  EXPECT_EQ(events[0].dump_end_ns, 1'000'000'500u);
}

TEST(SchedEvent, SampleWithoutArrivalTimesIsEncodedAsInFormat10) {
  std::string path = write_trace("plain.gtr", [](TraceWriter& w) {
    StringId text = w.intern_string("x");
    ASSERT_TRUE(w.append(Event::sched(1'000'000'000, text)));
  });
  auto bytes = testing::read_bytes(path);
  // 1.0's record: tag 6, time delta 0, body length 2, key 2 (field 1, varint), string id 1.
  const uint8_t record[] = {6, 0, 2, 2, 1};
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), std::begin(record), std::end(record)), bytes.end());
  auto events = read_all(path);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].lag_ns, 0u);
  EXPECT_EQ(events[0].span_ns, 0u);
}

}  // namespace
}  // namespace gorepro::replay
