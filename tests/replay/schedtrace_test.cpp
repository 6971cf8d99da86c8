// The schedtrace parser and stream splitter over real runtime output of every supported Go
// version (tests/data/schedtrace/, captured with GODEBUG=schedtrace=N[,scheddetail=1]; see the
// README there). Expected values are read off the captured text itself — line counts, and a few
// lines quoted verbatim — never off gorepro's output.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "replay/schedtrace.h"

namespace gorepro::replay {
namespace {

const std::filesystem::path kData = std::filesystem::path(GOREPRO_SOURCE_DIR) / "tests" / "data" / "schedtrace";
const char* kVersions[] = {"1.19", "1.21", "1.22", "1.23", "1.26", "1.27"};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0;
  return n;
}

std::vector<std::string> capture_files() {
  std::vector<std::string> out;
  for (const char* v : kVersions) {
    for (const char* prog : {"capture", "mixed"}) {
      for (const char* mode : {"detail", "plain"}) out.push_back(fmt::format("go{}-{}-{}.txt", v, prog, mode));
    }
  }
  return out;
}

TEST(Schedtrace, EveryBlockOfEveryCapturedVersionParses) {
  for (const std::string& name : capture_files()) {
    SCOPED_TRACE(name);
    std::string text = slurp(kData / name);
    ASSERT_FALSE(text.empty());
    SchedLog log = split_sched_log(text);
    EXPECT_EQ(log.skipped, 0u);
    EXPECT_EQ(log.samples.size(), count_lines_starting(text, "SCHED "));
    size_t gs = 0, ps = 0, ms = 0;
    for (const SchedSample& s : log.samples) {
      gs += s.gs.size(), ps += s.ps.size(), ms += s.ms.size();
      EXPECT_EQ(s.detailed, name.find("detail") != std::string::npos);
      EXPECT_TRUE(s.header.extra.empty());
      if (!s.detailed) {
        EXPECT_EQ(s.header.local_runqueues.size(), static_cast<size_t>(s.header.gomaxprocs));
        // Go 1.26 added every P's schedtick after the run queues; older runtimes print none.
        size_t want_ticks = text.find("schedticks=[") != std::string::npos ? s.header.gomaxprocs : 0;
        EXPECT_EQ(s.header.schedticks.size(), want_ticks);
      }
      for (const SchedG& g : s.gs) EXPECT_TRUE(g.extra.empty());
    }
    EXPECT_EQ(gs, count_lines_starting(text, "  G"));
    EXPECT_EQ(ps, count_lines_starting(text, "  P"));
    EXPECT_EQ(ms, count_lines_starting(text, "  M"));
  }
}

TEST(Schedtrace, PassesNothingButSchedBlocksOfARuntimeOnlyStream) {
  for (const std::string& name : capture_files()) {
    SCOPED_TRACE(name);
    std::string text = slurp(kData / name);
    SchedStreamSplitter sp;
    SchedStreamSplitter::Output out;
    // Byte by byte in places, to exercise held partial lines.
    for (size_t i = 0; i < text.size();) {
      size_t n = (i / 7) % 3 == 0 ? 1 : 97;
      sp.feed(std::string_view(text).substr(i, n), i, out);
      i += n;
    }
    sp.finish(out);
    EXPECT_EQ(out.passthrough, "");
    std::string joined;
    for (const auto& b : out.blocks) joined += b.text;
    EXPECT_EQ(joined, text);
  }
}

TEST(Schedtrace, Go119HeaderWithDetailHasNumericFlagsAndMinusOneForNone) {
  // First block of go1.19-mixed-detail.txt, verbatim.
  auto s = parse_sched_block(
      "SCHED 0ms: gomaxprocs=2 idleprocs=0 threads=3 spinningthreads=1 idlethreads=0 runqueue=0 gcwaiting=0 "
      "nmidlelocked=0 stopwait=0 sysmonwait=0\n"
      "  P0: status=1 schedtick=0 syscalltick=0 m=0 runqsize=0 gfreecnt=0 timerslen=0\n"
      "  P1: status=1 schedtick=0 syscalltick=0 m=2 runqsize=0 gfreecnt=0 timerslen=0\n"
      "  M2: p=1 curg=-1 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=true blocked=false lockedg=-1\n"
      "  M1: p=-1 curg=-1 mallocing=0 throwing=0 preemptoff= locks=2 dying=0 spinning=false blocked=false lockedg=-1\n"
      "  M0: p=0 curg=1 mallocing=0 throwing=0 preemptoff= locks=3 dying=0 spinning=false blocked=false lockedg=1\n"
      "  G1: status=2() m=0 lockedm=0\n"
      "  G2: status=1() m=-1 lockedm=-1\n");
  ASSERT_TRUE(s) << s.error().what;
  EXPECT_TRUE(s->detailed);
  EXPECT_EQ(s->header.ms, 0u);
  EXPECT_EQ(s->header.threads, 3);
  EXPECT_EQ(s->header.needspinning, -1);  // not printed before 1.21
  EXPECT_EQ(s->header.gcwaiting, 0);
  ASSERT_EQ(s->ms.size(), 3u);
  EXPECT_EQ(s->ms[0].id, 2);
  EXPECT_EQ(s->ms[0].curg, -1);
  EXPECT_EQ(s->ms[0].spinning, 1);
  EXPECT_EQ(s->ms[2].lockedg, 1);
  ASSERT_EQ(s->gs.size(), 2u);
  EXPECT_EQ(s->gs[0].runtime_class(), RuntimeClass::Running);
  EXPECT_EQ(s->gs[1].runtime_class(), RuntimeClass::Runnable);
  EXPECT_EQ(s->gs[1].m, -1);
}

TEST(Schedtrace, Go121HeaderHasNeedspinningBooleansAndNil) {
  auto s = parse_sched_block(
      "SCHED 0ms: gomaxprocs=2 idleprocs=1 threads=4 spinningthreads=1 needspinning=0 idlethreads=1 runqueue=0 "
      "gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false\n"
      "  P0: status=0 schedtick=0 syscalltick=0 m=nil runqsize=0 gfreecnt=0 timerslen=0\n"
      "  P1: status=0 schedtick=5 syscalltick=0 m=nil runqsize=0 gfreecnt=2 timerslen=2\n"
      "  M0: p=nil curg=nil mallocing=0 throwing=0 preemptoff=gcing locks=1 dying=0 spinning=false blocked=false lockedg=nil\n"
      "  G1: status=4(select (no cases)) m=nil lockedm=nil\n"
      "  G2: status=4100(GC worker (idle)) m=nil lockedm=nil\n");
  ASSERT_TRUE(s) << s.error().what;
  EXPECT_EQ(s->header.needspinning, 0);
  EXPECT_EQ(s->header.sysmonwait, 0);
  EXPECT_EQ(s->ps[0].m, -1);
  EXPECT_EQ(s->ms[0].preemptoff, "gcing");
  EXPECT_EQ(s->gs[0].wait_reason, "select (no cases)");
  EXPECT_EQ(s->gs[1].wait_reason, "GC worker (idle)");
  EXPECT_EQ(s->gs[1].runtime_class(), RuntimeClass::Waiting);  // _Gscan|_Gwaiting
  EXPECT_EQ(s->live_goroutines(), 2u);
}

TEST(Schedtrace, PlainHeaderEndsInPerPRunQueueLengths) {
  auto s = parse_sched_block(
      "SCHED 29ms: gomaxprocs=2 idleprocs=2 threads=4 spinningthreads=0 needspinning=0 idlethreads=2 runqueue=3 [1 0]\n");
  ASSERT_TRUE(s) << s.error().what;
  EXPECT_FALSE(s->detailed);
  EXPECT_EQ(s->header.ms, 29u);
  EXPECT_EQ(s->header.runqueue, 3);
  EXPECT_EQ(s->header.local_runqueues, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(s->header.gcwaiting, -1);
}

TEST(Schedtrace, PreemptoffWithSpacesAndUnknownFieldsAreKept) {
  auto s = parse_sched_block(
      "SCHED 5ms: gomaxprocs=1 idleprocs=0 threads=1 spinningthreads=0 idlethreads=0 runqueue=0 newfield=7 "
      "gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0\n"
      "  P0: status=1 schedtick=0 syscalltick=0 m=0 runqsize=0 gfreecnt=0 timerslen=0 timer0when=12\n"
      "  M0: p=0 curg=1 mallocing=0 throwing=0 preemptoff=GC sweep termination locks=1 dying=0 spinning=false "
      "blocked=false lockedg=-1\n"
      "  G1: status=2() m=0 lockedm=-1 syncgroup=3\n");
  ASSERT_TRUE(s) << s.error().what;
  EXPECT_EQ(s->header.extra, (SchedExtra{{"newfield", "7"}}));
  EXPECT_EQ(s->ps[0].extra, (SchedExtra{{"timer0when", "12"}}));
  EXPECT_EQ(s->ms[0].preemptoff, "GC sweep termination");
  EXPECT_EQ(s->gs[0].extra, (SchedExtra{{"syncgroup", "3"}}));
}

TEST(Schedtrace, RejectsBlocksCutShortOrWithForeignBytes) {
  const std::string header =
      "SCHED 5ms: gomaxprocs=1 idleprocs=0 threads=1 spinningthreads=0 idlethreads=0 runqueue=0 "
      "gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0\n";
  const std::string p = "  P0: status=1 schedtick=0 syscalltick=0 m=0 runqsize=0 gfreecnt=0 timerslen=0\n";
  const std::string m = "  M0: p=0 curg=1 mallocing=0 throwing=0 preemptoff= locks=1 dying=0 spinning=false blocked=false lockedg=-1\n";
  const std::string g = "  G1: status=2() m=0 lockedm=-1\n";
  ASSERT_TRUE(parse_sched_block(header + p + m + g));
  EXPECT_FALSE(parse_sched_block(header + p + m));                   // no G lines
  EXPECT_FALSE(parse_sched_block(header + p + m + "  G1: status=2() m=0 l"));  // mid-line
  EXPECT_FALSE(parse_sched_block(header + m + g));                   // P missing
  EXPECT_FALSE(parse_sched_block(
      "SCHED 5ms: gomaxprocs=1 idleprocs=0hello threads=1 spinningthreads=0 idlethreads=0 runqueue=0 [0]\n"));
  EXPECT_FALSE(parse_sched_block(
      "SCHED 5ms: gomaxprocs=1 idleprocs=0 threads=1 spinningthreads=0 idle world idlethreads=0 runqueue=0 [0]\n"));
  EXPECT_FALSE(parse_sched_block("SCHED 5ms: gomaxprocs=2 idleprocs=0 threads=1 spinningthreads=0 idlethreads=0 runqueue=0 [0]\n"));
  EXPECT_FALSE(parse_sched_block(header + p + m + "  G1: status=2() m=0 lockedm=-1 user text\n"));
}

TEST(Schedtrace, SplitterPassesOtherBytesUnchangedAndInOrder) {
  const std::string block = slurp(kData / "go1.22-capture-detail.txt").substr(0, 4000);
  auto first_block_end = block.find("\nSCHED ", 1);
  const std::string one = block.substr(0, first_block_end + 1);
  ASSERT_TRUE(parse_sched_block(one));
  std::string binary("\x00\xffSCH\n\x01\n", 8);
  std::string user = "log line 1\n" + binary + "SCHEDULE: not ours\n  G5: not after a block\nno newline at end";
  std::string stream = "log line 1\n" + binary + one + "SCHEDULE: not ours\n  G5: not after a block\n" + one +
                       "no newline at end";
  SchedStreamSplitter sp;
  SchedStreamSplitter::Output out;
  sp.feed(stream, 1, out);
  sp.finish(out);
  EXPECT_EQ(out.passthrough, user);
  ASSERT_EQ(out.blocks.size(), 2u);
  EXPECT_EQ(out.blocks[0].text, one);
  EXPECT_EQ(out.cut, (std::vector<size_t>{("log line 1\n" + binary).size(),
                                          ("log line 1\n" + binary + "SCHEDULE: not ours\n  G5: not after a block\n").size()}));
}

TEST(Schedtrace, SplitterCountsAndPassesThroughAnInterleavedBlock) {
  std::string text = slurp(kData / "go1.23-capture-detail.txt");
  std::string one = text.substr(0, text.find("\nSCHED ", 1) + 1);
  size_t mid = one.find("  M");  // another writer's bytes land inside the M section
  std::string mangled = one.substr(0, mid + 10) + "user bytes\n" + one.substr(mid + 10);
  SchedStreamSplitter sp;
  SchedStreamSplitter::Output out;
  sp.feed(mangled + one, 5, out);
  sp.finish(out);
  EXPECT_EQ(sp.blocks_skipped(), 1u);
  EXPECT_EQ(sp.blocks_parsed(), 1u);
  EXPECT_EQ(out.passthrough, mangled);  // nothing lost, nothing invented
  ASSERT_EQ(out.blocks.size(), 1u);
  EXPECT_EQ(out.blocks[0].text, one);
}

// The stream ends inside a dump when the program exits while its runtime prints one: what was
// printed is the runtime's, never passed through; the part that parses is recorded.
TEST(Schedtrace, SplitterKeepsADumpCutShortByTheEndOfTheStreamFromTheUser) {
  std::string text = slurp(kData / "go1.22-capture-detail.txt");
  std::string one = text.substr(0, text.find("\nSCHED ", 1) + 1);
  size_t g = one.find("  G");
  size_t g2 = one.find("  G", g + 1);
  ASSERT_NE(g2, std::string::npos);
  struct Case {
    std::string name, stream;
    size_t recorded;        // blocks recorded
    std::string unrecorded;  // the runtime's bytes held back
  };
  const Case cases[] = {
      {"mid G line", "user\n" + one.substr(0, g2 + 5), 1, one.substr(g2, 5)},
      {"at a G line's start", "user\n" + one.substr(0, g2 + 3), 1, "  G"},
      {"in the P lines", "user\n" + one.substr(0, one.find("  P1")), 0, one.substr(0, one.find("  P1"))},
      {"in the header", "user\n" + one.substr(0, 30), 0, one.substr(0, 30)},
      {"header prefix only", "user\nSCHED 1", 0, "SCHED 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SchedStreamSplitter sp;
    SchedStreamSplitter::Output out;
    sp.feed(c.stream, 1, out);
    sp.finish(out);
    EXPECT_EQ(out.passthrough, "user\n");
    EXPECT_EQ(out.blocks.size(), c.recorded);
    EXPECT_EQ(out.unrecorded, c.unrecorded);
    EXPECT_EQ(sp.blocks_cut_short(), 1u);
    EXPECT_EQ(sp.blocks_skipped(), 0u);
  }
  // Not the runtime's: passed through as before.
  for (std::string end : {"SCHEDULE", "SCHED 1ms: not ours", "  G12"}) {
    SCOPED_TRACE(end);
    SchedStreamSplitter sp;
    SchedStreamSplitter::Output out;
    sp.feed("user\n" + end, 1, out);
    sp.finish(out);
    EXPECT_EQ(out.passthrough, "user\n" + end);
    EXPECT_EQ(out.unrecorded, "");
    EXPECT_EQ(sp.blocks_cut_short(), 0u);
  }
  // Another writer's bytes inside the block: not provably the runtime's to the end.
  std::string mangled = one.substr(0, g + 5) + "user bytes\n  G7";
  SchedStreamSplitter sp;
  SchedStreamSplitter::Output out;
  sp.feed(mangled, 1, out);
  sp.finish(out);
  EXPECT_EQ(out.passthrough, mangled);
  EXPECT_EQ(out.unrecorded, "");
}

TEST(Schedtrace, SplitterHoldsOnlyWhatCouldStillBeASchedLine) {
  SchedStreamSplitter sp;
  SchedStreamSplitter::Output out;
  sp.feed("hello", 1, out);
  EXPECT_EQ(out.passthrough, "hello");  // cannot be "SCHED ": passes at once
  sp.feed(" world\nSCH", 2, out);
  EXPECT_EQ(out.passthrough, "hello world\n");
  sp.idle(out);  // nothing more came: released
  EXPECT_EQ(out.passthrough, "hello world\nSCH");
  sp.feed("OOL\n", 3, out);
  EXPECT_EQ(out.passthrough, "hello world\nSCHOOL\n");
}

TEST(Schedtrace, SplitterStampsBlocksWithArrivalOfFirstAndLastByte) {
  std::string text = slurp(kData / "go1.21-capture-detail.txt");
  std::string one = text.substr(0, text.find("\nSCHED ", 1) + 1);
  SchedStreamSplitter sp;
  SchedStreamSplitter::Output out;
  sp.feed(one.substr(0, 10), 100, out);
  sp.feed(one.substr(10), 250, out);
  EXPECT_TRUE(out.blocks.empty());  // still open: more G lines could follow
  sp.idle(out);
  ASSERT_EQ(out.blocks.size(), 1u);
  EXPECT_EQ(out.blocks[0].first_ns, 100u);
  EXPECT_EQ(out.blocks[0].last_ns, 250u);
}

}  // namespace
}  // namespace gorepro::replay
