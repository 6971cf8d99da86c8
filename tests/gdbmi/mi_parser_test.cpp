// MiParser against the GDB manual's own examples and against real gdb 13 output
// (tests/data/gdbmi/session*.mi, recorded by capture.py there: non-ASCII paths, a 128 KiB
// memory line, duplicate keys, errors). Expected values come from the manual's text or from the
// captured bytes themselves (counted or decoded independently here), never from the parser.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gdbmi/mi_parser.h"

namespace gorepro::gdbmi {
namespace {

const std::filesystem::path kData = std::filesystem::path(GOREPRO_SOURCE_DIR) / "tests" / "data" / "gdbmi";

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::string line;
  for (char c : text) {
    if (c == '\n') {
      out.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) out.push_back(line);
  return out;
}

MiRecord parse_ok(std::string_view line) {
  auto r = parse_mi_line(line);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : MiRecord{};
}

// --- the manual's examples (GDB/MI Output Syntax, Output Records, command sections) ---------

TEST(MiParser, ResultRecordWithBreakpointTuple) {
  // -break-insert main (GDB/MI Breakpoint Commands)
  auto r = parse_ok(R"(^done,bkpt={number="1",type="breakpoint",disp="keep",enabled="y",addr="0x08048564",)"
                    R"(func="main",file="myprog.c",fullname="/home/nickrob/myprog.c",line="68",)"
                    R"(thread-groups=["i1"],times="0"})");
  EXPECT_EQ(r.kind, MiRecordKind::kResult);
  EXPECT_FALSE(r.token.has_value());
  EXPECT_EQ(r.klass, "done");
  const MiValue* bkpt = r.payload.get("bkpt");
  ASSERT_NE(bkpt, nullptr);
  ASSERT_TRUE(bkpt->is_tuple());
  EXPECT_EQ(bkpt->str("number"), "1");
  EXPECT_EQ(bkpt->u64("addr"), 0x08048564u);
  EXPECT_EQ(bkpt->u64("line"), 68u);
  EXPECT_EQ(bkpt->str("fullname"), "/home/nickrob/myprog.c");
  const MiValue* groups = bkpt->get("thread-groups");
  ASSERT_NE(groups, nullptr);
  ASSERT_TRUE(groups->is_list());
  ASSERT_EQ(groups->values.size(), 1u);
  EXPECT_EQ(groups->values[0].text, "i1");
}

TEST(MiParser, StoppedRecordWithFrameAndArgs) {
  // GDB/MI Async Records / -exec-run example
  auto r = parse_ok(R"(*stopped,reason="breakpoint-hit",disp="keep",bkptno="1",thread-id="0",)"
                    R"(frame={addr="0x08048564",func="main",args=[{name="argc",value="1"},)"
                    R"({name="argv",value="0xbfc4d4d4"}],file="myprog.c",fullname="/home/nickrob/myprog.c",)"
                    R"(line="68",arch="i386:x86_64"})");
  EXPECT_EQ(r.kind, MiRecordKind::kExec);
  EXPECT_EQ(r.klass, "stopped");
  EXPECT_EQ(r.payload.str("reason"), "breakpoint-hit");
  const MiValue* frame = r.payload.get("frame");
  ASSERT_NE(frame, nullptr);
  const MiValue* args = frame->get("args");
  ASSERT_NE(args, nullptr);
  ASSERT_EQ(args->values.size(), 2u);
  EXPECT_EQ(args->values[1].str("name"), "argv");
  EXPECT_EQ(args->values[1].str("value"), "0xbfc4d4d4");
}

TEST(MiParser, TokensOnResultsAndAsyncRecords) {
  auto r = parse_ok("12345^running");
  EXPECT_EQ(r.token, 12345u);
  EXPECT_EQ(r.klass, "running");
  EXPECT_TRUE(r.payload.results.empty());
  auto a = parse_ok("7*running,thread-id=\"all\"");
  EXPECT_EQ(a.token, 7u);
  EXPECT_EQ(a.kind, MiRecordKind::kExec);
  auto big = parse_ok("18446744073709551615^done");
  EXPECT_EQ(big.token, 18446744073709551615u);
  EXPECT_FALSE(parse_mi_line("18446744073709551616^done").ok());  // does not fit 64 bits
}

TEST(MiParser, NotifyAndStatusRecords) {
  auto n = parse_ok(R"(=thread-group-added,id="i1")");
  EXPECT_EQ(n.kind, MiRecordKind::kNotify);
  EXPECT_EQ(n.klass, "thread-group-added");
  EXPECT_EQ(n.payload.str("id"), "i1");
  // -target-download's example prints a bare tuple after the class: kept, with no name.
  auto s = parse_ok(R"(+download,{section=".text",section-size="6668",total-size="9880"})");
  EXPECT_EQ(s.kind, MiRecordKind::kStatus);
  ASSERT_EQ(s.payload.results.size(), 1u);
  EXPECT_EQ(s.payload.results[0].name, "");
  EXPECT_EQ(s.payload.results[0].value.str("section-size"), "6668");
  EXPECT_EQ(to_mi(s), R"(+download,{section=".text",section-size="6668",total-size="9880"})");
}

TEST(MiParser, StreamRecordsAndPrompt) {
  auto c = parse_ok(R"(~"GNU gdb (GDB) 13.1\n")");
  EXPECT_EQ(c.kind, MiRecordKind::kConsole);
  EXPECT_EQ(c.text, "GNU gdb (GDB) 13.1\n");
  EXPECT_EQ(parse_ok(R"(@"target out")").kind, MiRecordKind::kTarget);
  auto l = parse_ok(R"(&"-gdb-set foo\n")");
  EXPECT_EQ(l.kind, MiRecordKind::kLog);
  EXPECT_EQ(l.text, "-gdb-set foo\n");
  EXPECT_EQ(parse_ok("(gdb) ").kind, MiRecordKind::kPrompt);
  EXPECT_EQ(parse_ok("(gdb)").kind, MiRecordKind::kPrompt);
  EXPECT_FALSE(parse_mi_line("(gdb) x").ok());
  EXPECT_FALSE(parse_mi_line("12~\"x\"").ok());  // streams carry no token
}

TEST(MiParser, ErrorRecordMessage) {
  // -break-insert of an unknown function, and an unknown command (undefined-command-error-code).
  auto e = parse_ok(R"(^error,msg="Function \"nosuchfunction\" not defined.")");
  EXPECT_EQ(e.error_message(), "Function \"nosuchfunction\" not defined.");
  auto u = parse_ok(R"(^error,msg="Undefined MI command: rubbish",code="undefined-command")");
  EXPECT_EQ(u.payload.str("code"), "undefined-command");
  EXPECT_EQ(parse_ok("^done").error_message(), "");
}

TEST(MiParser, ListsOfValuesOfResultsAndEmptyOnes) {
  // -data-list-register-names: empty strings among the names; -stack-list-frames: a list of results.
  auto names = parse_ok(R"(^done,register-names=["r0","r1","","",""])");
  const MiValue* v = names.payload.get("register-names");
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(v->values.size(), 5u);
  EXPECT_EQ(v->values[2].text, "");
  auto frames = parse_ok(R"(^done,stack=[frame={level="0",addr="0x1"},frame={level="1",addr="0x2"}])");
  const MiValue* stack = frames.payload.get("stack");
  ASSERT_NE(stack, nullptr);
  ASSERT_EQ(stack->results.size(), 2u);
  EXPECT_EQ(stack->elements()[1]->u64("addr"), 2u);
  auto empty = parse_ok(R"(^done,a=[],b={},c=[[],[{}]])");
  EXPECT_TRUE(empty.payload.get("a")->is_list());
  EXPECT_TRUE(empty.payload.get("b")->is_tuple());
  EXPECT_EQ(empty.payload.get("c")->values.size(), 2u);
}

TEST(MiParser, DuplicateKeysAreAllKept) {
  // gdb bug 22217: -thread-list-ids repeats thread-id inside one tuple.
  auto r = parse_ok(R"(^done,thread-ids={thread-id="3",thread-id="2",thread-id="1"},number-of-threads="3")");
  const MiValue* ids = r.payload.get("thread-ids");
  ASSERT_NE(ids, nullptr);
  auto all = ids->get_all("thread-id");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->text, "3");
  EXPECT_EQ(all[2]->text, "1");
  EXPECT_EQ(ids->str("thread-id"), "3");  // get() is the first
}

// --- c-strings -------------------------------------------------------------------------------

TEST(MiParser, EveryEscape) {
  auto r = parse_ok(R"(~"a\nb\tc\rd\be\ff\ag\eh\\i\"j\'k\vl\101\0m\377")");
  static const char kExpected[] = "a\nb\tc\rd\be\ff\ag\033h\\i\"j'k\vlA\0m\xff";
  EXPECT_EQ(r.text, std::string(kExpected, sizeof(kExpected) - 1));
  EXPECT_FALSE(parse_mi_line(R"(~"\q")").ok());
  EXPECT_FALSE(parse_mi_line(R"(~"\400")").ok());  // more than a byte
  EXPECT_FALSE(parse_mi_line(R"(~"abc\)").ok());
  EXPECT_FALSE(parse_mi_line(R"(~"abc)").ok());
  EXPECT_FALSE(parse_mi_line(R"(~"abc" x)").ok());
}

TEST(MiParser, NonAsciiBytesRawOrOctal) {
  // gdb escapes 0x80-0x9f in octal and, depending on its charset, passes 0xa0-0xff raw or
  // escapes them too: both must give the file's bytes. "ü" is C3 BC; "☕" E2 98 95.
  const std::string utf8 = "/tmp/caf\xc3\xa9 \xe2\x98\x95/main.go";
  auto raw = parse_ok("=x,f=\"/tmp/caf\xc3\xa9 \xe2\\230\\225/main.go\"");
  auto octal = parse_ok(R"(=x,f="/tmp/caf\303\251 \342\230\225/main.go")");
  EXPECT_EQ(raw.payload.str("f"), utf8);
  EXPECT_EQ(octal.payload.str("f"), utf8);
  // Not UTF-8 at all: kept byte for byte.
  auto latin1 = parse_ok("~\"caf\xe9\"");
  EXPECT_EQ(latin1.text, "caf\xe9");
  // And back: mi_quote escapes what gdb escapes, and parses to the same bytes.
  std::string all;
  for (int c = 0; c < 256; c++) all += static_cast<char>(c);
  auto back = parse_ok("~" + mi_quote(all));
  EXPECT_EQ(back.text, all);
}

// --- malformed input: an Error, never a crash ------------------------------------------------

TEST(MiParser, MalformedLinesAreErrors) {
  for (const char* bad : {"^", "^done,", "^done,x", "^done,x=", "^done,x=\"1\"y", "^done,x={a=\"1\"",
                          "^done,x=[\"1\",a=\"2\"", "^done,x=[\"1\"", "*", "=,a=\"1\"", "^done x",
                          "hello world", "^done,=\"1\"", "\x01\x02", "^done,x={a}"}) {
    auto r = parse_mi_line(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().what.find("malformed GDB/MI output"), std::string::npos) << r.error().what;
      EXPECT_FALSE(r.error().hint.empty());
    }
  }
}

TEST(MiParser, DeepNestingIsAnErrorNotAStackOverflow) {
  std::string deep = "^done,x=" + std::string(1'000'000, '[');
  EXPECT_FALSE(parse_mi_line(deep).ok());
  std::string tuples = "^done";
  for (int i = 0; i < 100'000; i++) tuples += ",a={b=";
  EXPECT_FALSE(parse_mi_line(tuples).ok());
  // As deep as gdb ever goes parses.
  std::string ok = "^done,x=" + std::string(50, '[') + std::string(50, ']');
  EXPECT_TRUE(parse_mi_line(ok).ok());
}

// --- the stream: lines, partial reads, terminators --------------------------------------------

std::vector<Result<MiRecord>> feed_in_chunks(std::string_view bytes, const std::vector<size_t>& sizes) {
  MiParser p;
  std::vector<Result<MiRecord>> out;
  size_t i = 0, k = 0;
  while (i < bytes.size()) {
    size_t n = std::min(sizes[k++ % sizes.size()], bytes.size() - i);
    p.feed(bytes.substr(i, n), out);
    i += n;
  }
  p.finish(out);
  return out;
}

TEST(MiParser, PartialLinesAreHeldUntilTheirNewline) {
  MiParser p;
  std::vector<Result<MiRecord>> out;
  p.feed("12^do", out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p.pending(), 5u);
  p.feed("ne,value=\"4", out);
  EXPECT_TRUE(out.empty());
  p.feed("2\"\n(gdb) \n~\"x\"", out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]->token, 12u);
  EXPECT_EQ(out[0]->payload.str("value"), "42");
  EXPECT_EQ(out[1]->kind, MiRecordKind::kPrompt);
  p.feed("\r", out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2]->text, "x");
  p.feed("\n\n\n", out);  // the LF of a CR LF, then empty lines: nothing
  EXPECT_EQ(out.size(), 3u);
  p.feed("^done", out);
  p.finish(out);  // the stream ended inside a line: reported, not parsed
  ASSERT_EQ(out.size(), 4u);
  EXPECT_FALSE(out[3].ok());
}

TEST(MiParser, CrLfAndCrTerminators) {
  auto out = feed_in_chunks("^done\r\n=a,b=\"1\"\r~\"z\"\n", {1});
  ASSERT_EQ(out.size(), 3u);
  for (auto& r : out) EXPECT_TRUE(r.ok());
  EXPECT_EQ(out[1]->payload.str("b"), "1");
}

TEST(MiParser, OverlongLineIsSkippedAndReported) {
  MiParser p(100);
  std::vector<Result<MiRecord>> out;
  p.feed("~\"" + std::string(80, 'a'), out);
  p.feed(std::string(80, 'a') + "\"\n^done\n", out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].ok());
  EXPECT_NE(out[0].error().what.find("163 bytes"), std::string::npos) << out[0].error().what;
  EXPECT_TRUE(out[1].ok());
  EXPECT_LE(p.pending(), 100u);
}

// --- real gdb output -----------------------------------------------------------------------

class Captured : public ::testing::TestWithParam<const char*> {};

TEST_P(Captured, EveryLineParsesAndKindsMatchTheText) {
  std::string text = slurp(kData / GetParam());
  ASSERT_FALSE(text.empty()) << "missing " << (kData / GetParam());
  auto lines = lines_of(text);
  size_t exec = 0, notify = 0, console = 0, log = 0, prompt = 0, result = 0;
  for (const std::string& l : lines) {
    auto r = parse_mi_line(l);
    ASSERT_TRUE(r.ok()) << r.error().message();
    size_t d = 0;
    while (d < l.size() && isdigit(static_cast<unsigned char>(l[d]))) d++;
    switch (l[d]) {
      case '*': exec++; EXPECT_EQ(r->kind, MiRecordKind::kExec); break;
      case '=': notify++; EXPECT_EQ(r->kind, MiRecordKind::kNotify); break;
      case '~': console++; EXPECT_EQ(r->kind, MiRecordKind::kConsole); break;
      case '&': log++; EXPECT_EQ(r->kind, MiRecordKind::kLog); break;
      case '(': prompt++; EXPECT_EQ(r->kind, MiRecordKind::kPrompt); break;
      case '^': result++; EXPECT_EQ(r->kind, MiRecordKind::kResult); break;
      default: ADD_FAILURE() << "unexpected line " << l.substr(0, 40);
    }
    // The re-encoded record parses to the same record.
    auto again = parse_mi_line(to_mi(*r));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *r);
  }
  EXPECT_EQ(exec + notify + console + log + prompt + result, lines.size());
  EXPECT_GT(exec, 3u);
  EXPECT_GT(notify, 5u);
  EXPECT_GT(console, 5u);
  EXPECT_EQ(result, 22u);  // capture.py sends 22 commands
}

TEST_P(Captured, SplitReadsGiveTheSameRecords) {
  std::string text = slurp(kData / GetParam());
  auto whole = feed_in_chunks(text, {text.size()});
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> size(1, 9000);
  std::vector<size_t> random;
  for (int i = 0; i < 64; i++) random.push_back(size(rng));
  for (const auto& sizes : std::vector<std::vector<size_t>>{{1}, {2}, {3}, {7}, {4096}, {65536}, random}) {
    auto split = feed_in_chunks(text, sizes);
    ASSERT_EQ(split.size(), whole.size());
    for (size_t i = 0; i < split.size(); i++) {
      ASSERT_TRUE(split[i].ok());
      EXPECT_EQ(*split[i], *whole[i]) << "record " << i << " with chunks of " << sizes[0];
    }
  }
}

// Facts of the session, read off capture.py and the captured text.
TEST_P(Captured, SessionFacts) {
  std::string text = slurp(kData / GetParam());
  std::vector<MiRecord> recs;
  for (const std::string& l : lines_of(text)) recs.push_back(parse_ok(l));
  auto answer = [&](uint64_t token) -> const MiRecord* {
    for (const MiRecord& r : recs) {
      if (r.kind == MiRecordKind::kResult && r.token == token) return &r;
    }
    return nullptr;
  };
  // 9: -break-insert main.stop, in a directory named "каталог ünï" (UTF-8 on disk).
  const MiRecord* bp = answer(9);
  ASSERT_NE(bp, nullptr);
  auto fullname = bp->payload.get("bkpt")->str("fullname");
  ASSERT_TRUE(fullname.has_value());
  EXPECT_NE(fullname->find("/\xd0\xba\xd0\xb0\xd1\x82\xd0\xb0\xd0\xbb\xd0\xbe\xd0\xb3 \xc3\xbcn\xc3\xaf/main.go"),
            std::string_view::npos);
  // 10: the unknown function.
  ASSERT_NE(answer(10), nullptr);
  EXPECT_EQ(answer(10)->error_message(), "Function \"nosuchfunction\" not defined.");
  // 13: -thread-list-ids: as many thread-id keys as number-of-threads says.
  const MiRecord* ids = answer(13);
  ASSERT_NE(ids, nullptr);
  auto n = ids->payload.u64("number-of-threads");
  ASSERT_TRUE(n.has_value());
  EXPECT_GE(*n, 2u);
  EXPECT_EQ(ids->payload.get("thread-ids")->get_all("thread-id").size(), *n);
  // 16: registers by number, as asked: 0 1 2 14 16 17.
  const MiRecord* regs = answer(16);
  ASSERT_NE(regs, nullptr);
  std::vector<uint64_t> numbers;
  for (const MiValue* v : regs->payload.get("register-values")->elements()) numbers.push_back(*v->u64("number"));
  EXPECT_EQ(numbers, (std::vector<uint64_t>{0, 1, 2, 14, 16, 17}));
  // 18: 65536 bytes of memory in one 131072-digit line.
  const MiRecord* mem = answer(18);
  ASSERT_NE(mem, nullptr);
  const MiValue* block = mem->payload.get("memory")->elements().at(0);
  EXPECT_EQ(*block->u64("end") - *block->u64("begin"), 65536u);
  EXPECT_EQ(block->str("contents")->size(), 131072u);
  // 20: the echo's console text, every escape decoded.
  bool echoed = false;
  for (const MiRecord& r : recs) echoed |= r.kind == MiRecordKind::kConsole && r.text == "\"quoted\" \\ and tab:\t and \xc3\xbc\n";
  EXPECT_TRUE(echoed);
  // The program stopped at the breakpoint, then exited normally.
  std::vector<std::string> reasons;
  for (const MiRecord& r : recs) {
    if (r.kind == MiRecordKind::kExec && r.klass == "stopped") reasons.emplace_back(*r.payload.str("reason"));
  }
  EXPECT_EQ(reasons, (std::vector<std::string>{"breakpoint-hit", "exited-normally"}));
}

INSTANTIATE_TEST_SUITE_P(Gdb13, Captured, ::testing::Values("session.mi", "session-utf8.mi"),
                         [](const auto& info) {
                           return std::string(info.param) == "session.mi" ? std::string("C") : std::string("Utf8");
                         });

}  // namespace
}  // namespace gorepro::gdbmi
