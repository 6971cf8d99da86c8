// The mark readers: what they accept, and that a malformed mark fails loudly with file:line
// instead of silently dropping ground truth.
#include "common/marks.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/go_programs.h"

namespace gorepro::testing {
namespace {

std::string error_of(std::string_view source) {
  try {
    (void)parse_leak_marks(source, "/src/main.go");
  } catch (const MarkError& e) {
    return e.what();
  }
  return "";
}

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

}  // namespace
}  // namespace gorepro::testing
