// The mark readers: what they accept, and that a malformed mark fails loudly with file:line
// instead of silently dropping ground truth.
#include "common/marks.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <algorithm>
#include <fstream>
#include <map>

#include "support/go_programs.h"

namespace gorepro::testing {
namespace {

// The MarkError a parser throws on source (as /src/main.go), or "".
template <class Parse>
std::string error_of(std::string_view source, Parse parse) {
  try {
    (void)parse(source, "/src/main.go");
  } catch (const MarkError& e) {
    return e.what();
  }
  return "";
}
std::string error_of(std::string_view source) { return error_of(source, parse_leak_marks); }
std::string wait_error_of(std::string_view source) { return error_of(source, parse_wait_marks); }

TEST(LeakMarks, ReadCountReasonAndLineOfGoStatement) {
  auto marks = parse_leak_marks(
      "package main\n"
      "\n"
      "func main() {\n"
      "\tgo sender(gosite.Count(ch)) // want leak: 7 x chan send\n"
      "}\n",
      "/src/main.go");
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].file, "/src/main.go");
  EXPECT_EQ(marks[0].line, 4);
  EXPECT_EQ(marks[0].count, 7);
  EXPECT_EQ(marks[0].reasons, std::vector<std::string>{"chan send"});
}

TEST(LeakMarks, MayLeakMarksAnIntermittentLeakUpToN) {
  auto marks = parse_leak_marks(
      "go worker(gosite.Count(results), i) // may leak: 8 x chan send\n"
      "go sender(ch) // want leak: 2 x chan send\n",
      "/src/main.go");
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_TRUE(marks[0].may);
  EXPECT_EQ(marks[0].count, 8);
  EXPECT_FALSE(marks[1].may);
  EXPECT_NE(error_of("go w() // may leak: x chan send\n").find("main.go:1"), std::string::npos);
}

TEST(LeakMarks, AcceptAnyBarSeparatedAlternative) {
  auto marks = parse_leak_marks("go update(i) //want leak:5 x semacquire | sync.Mutex.Lock\n", "f.go");
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].reasons, (std::vector<std::string>{"semacquire", "sync.Mutex.Lock"}));
  EXPECT_TRUE(marks[0].accepts("semacquire"));
  EXPECT_TRUE(marks[0].accepts("sync.Mutex.Lock"));
  EXPECT_FALSE(marks[0].accepts("sync.RWMutex.Lock"));
}

TEST(LeakMarks, KeepReasonsWithSpacesAndParentheses) {
  auto marks = parse_leak_marks(
      "\tgo park(gosite.Count(0)) // want leak: 1 x select (no cases)\n"
      "\tgo gosite.Count(c).get() // want leak: 100 x chan receive (nil chan)\n",
      "f.go");
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks[0].reasons[0], "select (no cases)");
  EXPECT_EQ(marks[1].count, 100);
  EXPECT_EQ(marks[1].reasons[0], "chan receive (nil chan)");
}

TEST(LeakMarks, SayTheVerdictTheirGoroutinesDeserveAndWhy) {
  auto marks = parse_leak_marks(
      "go a() // want leak: 2 x chan send\n"
      "go b() // want leak: 3 x chan receive -> may_wake (a live ticker sends to it)\n"
      "go c() // want leak: 16 x chan send -> 8 leaked, 8 may_wake (their session holds the channel)\n"
      "go d() // want leak: 1 x select (no cases) -> leaked\n",
      "f.go");
  ASSERT_EQ(marks.size(), 4u);
  EXPECT_EQ(marks[0].verdicts, (std::map<std::string, int>{{"leaked", 2}}));
  EXPECT_EQ(marks[1].reasons, std::vector<std::string>{"chan receive"});
  EXPECT_EQ(marks[1].verdicts, (std::map<std::string, int>{{"may_wake", 3}}));
  EXPECT_EQ(marks[1].why, "a live ticker sends to it");
  EXPECT_EQ(marks[2].count_with("leaked"), 8);
  EXPECT_EQ(marks[2].count_with("may_wake"), 8);
  EXPECT_EQ(marks[3].reasons, std::vector<std::string>{"select (no cases)"});
  EXPECT_EQ(marks[3].count_with("leaked"), 1);
}

TEST(LeakMarks, RejectVerdictsThatDoNotAddUpOrSayNotWhy) {
  EXPECT_NE(error_of("go f() // want leak: 3 x chan send -> may_wake\n").find("must say why"), std::string::npos);
  EXPECT_NE(error_of("go f() // want leak: 3 x chan send -> 1 leaked, 1 may_wake (x)\n").find("add up to 2"),
            std::string::npos);
  EXPECT_NE(error_of("go f() // want leak: 3 x chan send -> lost (x)\n").find("unknown verdict 'lost'"),
            std::string::npos);
  EXPECT_NE(error_of("go f() // want leak: 3 x chan send -> (x)\n").find("malformed verdicts"), std::string::npos);
}

TEST(LeakMarks, IgnoreOrdinaryCommentsAndUnmarkedGoStatements) {
  EXPECT_TRUE(parse_leak_marks("go f() // finishes\n// we want no leak here\nx := 1\n", "f.go").empty());
  EXPECT_TRUE(parse_leak_marks("", "f.go").empty());
}

TEST(LeakMarks, RejectMalformedMarksNamingFileAndLine) {
  EXPECT_NE(error_of("x\ngo f() // want leak: chan send\n").find("/src/main.go:2: malformed leak mark"),
            std::string::npos);
  EXPECT_NE(error_of("go f() // want leak 7 x chan send\n").find("malformed"), std::string::npos);
  EXPECT_NE(error_of("go f() // want leak: 7 chan send\n").find("malformed"), std::string::npos);
  EXPECT_NE(error_of("go f() // want leak: 7 x\n").find("malformed"), std::string::npos);
  EXPECT_NE(error_of("go f() // want leak: 0 x chan send\n").find("positive"), std::string::npos);
  EXPECT_NE(error_of("go f() // want leak: 99999999999 x chan send\n").find("positive"), std::string::npos);
  EXPECT_NE(error_of("go f() // want leak: 2 x semacquire|\n").find("empty wait reason"), std::string::npos);
  EXPECT_NE(error_of("go f() // want leak: 2 x a||b\n").find("empty wait reason"), std::string::npos);
}

TEST(LeakMarks, RejectMarkThatIsNotOnAGoStatement) {
  std::string e = error_of("\tsender(ch) // want leak: 1 x chan send\n");
  EXPECT_NE(e.find("/src/main.go:1: leak mark is not on the line of a go statement"), std::string::npos) << e;
  EXPECT_NE(error_of("\tlogo(x) // want leak: 1 x chan send\n"), "");
  EXPECT_EQ(error_of("\tgo func() { select {} }() // want leak: 1 x select (no cases)\n"), "");
}

TEST(MarkedLines, MapNamesToLines) {
  auto lines = parse_marked_lines("a\nreturn here() // mark: plain\nb // mark: inlined_caller\n", "f.go");
  EXPECT_EQ(lines, (std::map<std::string, int>{{"plain", 2}, {"inlined_caller", 3}}));
}

TEST(MarkedLines, RejectRepeatedOrEmptyNames) {
  EXPECT_THROW(parse_marked_lines("x // mark: a\ny // mark: a\n", "f.go"), MarkError);
  EXPECT_THROW(parse_marked_lines("x // mark:\n", "f.go"), MarkError);
  EXPECT_THROW(parse_marked_lines("x // mark: two words\n", "f.go"), MarkError);
}

TEST(LeakMarks, ReadEveryGoFileOfADirectoryWithAbsolutePaths) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("marks_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "b.go") << "go g() // want leak: 2 x chan receive\n";
  std::ofstream(dir / "a.go") << "\n\ngo f() // want leak: 1 x chan send\n";
  std::ofstream(dir / "notes.txt") << "go h() // want leak: 9 x select\n";
  auto marks = read_leak_marks(dir.string());
  fs::remove_all(dir);
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks[0].file, (dir / "a.go").string());
  EXPECT_EQ(marks[0].line, 3);
  EXPECT_EQ(marks[1].file, (dir / "b.go").string());
  EXPECT_THROW(read_leak_marks(dir.string()), MarkError);  // gone now
}

// The checked-in programs are the marks' real users: all of them must parse (leak marks and
// line marks), and the ones whose shape other tests rely on must say what the README says.
TEST(LeakMarks, EveryExampleAndTestProgramParses) {
  namespace fs = std::filesystem;
  int marks = 0;
  for (const char* root : {"examples", "tests/go"}) {
    for (const fs::directory_entry& e : fs::directory_iterator(go_source_dir(root))) {
      if (!e.is_directory()) continue;
      marks += static_cast<int>(read_leak_marks(e.path().string()).size());
      if (fs::exists(e.path() / "main.go")) (void)read_marked_lines((e.path() / "main.go").string());
    }
  }
  EXPECT_GE(marks, 14);
  EXPECT_TRUE(read_leak_marks(go_source_dir("examples/noleak")).empty());
  auto mutex = read_leak_marks(go_source_dir("examples/mutexleak"));
  ASSERT_EQ(mutex.size(), 2u);
  EXPECT_TRUE(mutex[0].accepts("semacquire"));      // Go 1.19
  EXPECT_TRUE(mutex[0].accepts("sync.Mutex.Lock"));  // Go 1.21+
  auto sym = read_marked_lines(go_source_dir("tests/go/symtest/main.go"));
  for (const char* name : {"plain", "inlined", "inlined_caller", "method", "closure"}) {
    EXPECT_TRUE(sym.count(name)) << name;
  }
}

TEST(WaitMarks, ReadCountReasonsVerdictsAndTheBlockingLine) {
  auto marks = parse_wait_marks(
      "package main\n"
      "\n"
      "\tanswer <- id * 2 // waits: 4 x chan send -> leaked\n"
      "\tc.mu.Lock() //waits:2 x semacquire | sync.Mutex.Lock->may_wake\n"
      "\tfor range t.C { // waits: 1 x chan receive -> time_io|may_wake\n"
      "\t// Exit waits for the exit state: prose, not a mark\n",
      "/src/main.go");
  ASSERT_EQ(marks.size(), 3u);
  EXPECT_EQ(marks[0].line, 3);
  EXPECT_EQ(marks[0].count, 4);
  EXPECT_EQ(marks[0].reasons, std::vector<std::string>{"chan send"});
  EXPECT_TRUE(marks[0].leaked());
  EXPECT_EQ(marks[1].reasons, (std::vector<std::string>{"semacquire", "sync.Mutex.Lock"}));
  EXPECT_EQ(marks[1].verdicts, std::vector<std::string>{"may_wake"});
  EXPECT_FALSE(marks[1].leaked());
  EXPECT_TRUE(marks[2].accepts_verdict("time_io"));
  EXPECT_TRUE(marks[2].accepts_verdict("may_wake"));
  EXPECT_FALSE(marks[2].accepts_verdict("leaked"));
}

TEST(WaitMarks, KeepReasonsWithParentheses) {
  auto marks = parse_wait_marks("\ts.out <- v // waits: 1 x chan send (nil chan) -> leaked\n", "f.go");
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].reasons, std::vector<std::string>{"chan send (nil chan)"});
}

TEST(WaitMarks, RejectMalformedMarksNamingFileAndLine) {
  EXPECT_NE(wait_error_of("x\n<-ch // waits: chan receive -> leaked\n").find("main.go:2: malformed wait mark"), std::string::npos);
  EXPECT_NE(wait_error_of("<-ch // waits: 1 x chan receive\n").find("malformed wait mark"), std::string::npos);
  EXPECT_NE(wait_error_of("<-ch // waits: 0 x chan receive -> leaked\n").find("positive"), std::string::npos);
  EXPECT_NE(wait_error_of("<-ch // waits: 1 x chan receive -> gone\n").find("unknown verdict 'gone'"), std::string::npos);
  EXPECT_NE(wait_error_of("<-ch // waits: 1 x chan receive -> leaked|may_wake\n").find("leaked or not"), std::string::npos);
  EXPECT_NE(wait_error_of("<-ch // waits: 1 x a||b -> leaked\n").find("empty wait reason"), std::string::npos);
  EXPECT_NE(wait_error_of("\t// waits: 1 x sleep -> time_io\n").find("not on a line of code"), std::string::npos);
}

// The verdict programs (tests/go/verdict/{leaking,waiting}/NAME): every one parses, marks at
// least one blocked goroutine, and the leaking set marks at least one leak in all but the
// documented limit (globalleak: reachable from a global, so may_wake).
TEST(WaitMarks, EveryVerdictProgramParses) {
  namespace fs = std::filesystem;
  int programs = 0;
  for (const char* set : {"leaking", "waiting"}) {
    for (const fs::directory_entry& e : fs::directory_iterator(go_source_dir("tests/go/verdict/") + set)) {
      auto marks = read_wait_marks(e.path().string());
      EXPECT_FALSE(marks.empty()) << e.path();
      const bool leaks = std::any_of(marks.begin(), marks.end(), [](const WaitMark& m) { return m.leaked(); });
      const bool leaking_set = std::string(set) == "leaking";
      if (e.path().filename() != "globalleak") {
        EXPECT_EQ(leaks, leaking_set) << e.path();
      }
      ++programs;
    }
  }
  EXPECT_GE(programs, 20);
}

}  // namespace
}  // namespace gorepro::testing
