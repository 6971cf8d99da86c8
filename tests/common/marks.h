// Ground truth that lives in Go sources, read the same way by every test:
//
//   go sender(ch) // want leak: 7 x chan send
//   go update(i)  // want leak: 5 x semacquire|sync.Mutex.Lock
//   return here() // mark: plain
//   go worker(ch) // may leak: 8 x chan send
//   go janitor(t) // want leak: 3 x chan receive -> may_wake (a live ticker sends to it)
//   go stream(ch) // want leak: 16 x chan send -> 8 leaked, 8 may_wake (why, in words)
//
// A leak mark sits on the line of a `go` statement and says how many goroutines created there
// are still alive when main returns (N) and the wait reason they are parked in, spelled as in
// the runtime's waitReasonStrings. Alternatives separated by `|` cover Go versions that name
// the same wait differently; a check accepts any of them. A `// mark: NAME` names a line so a
// test can find it without hard-coding its number. A `may leak` mark is the ground truth of an
// intermittent leak: from 0 to N goroutines of that statement are left, depending on the
// schedule (examples/race*; `gorepro repro` forces them). See examples/README.md.
// After `->`, the leak verdict those goroutines deserve at exit (docs/verdicts.md): one verdict
// for all N, or counts per verdict adding up to N; without `->`, all N are `leaked`. A verdict
// other than `leaked` must say why in parentheses: something that can still run reaches what
// they wait on, and the reader deserves to know what.
//
// A wait mark sits on the line a goroutine blocks on — the innermost frame of its stack in the
// program's own source — and says how many goroutines block there when the program exits, in
// which wait reason, and the verdict a tracer must give them (tests/go/verdict, docs/verdicts.md):
//
//   answer <- id * 2 // waits: 4 x chan send -> leaked
//   time.Sleep(time.Hour) // waits: 3 x sleep -> time_io
//   for range t.C { // waits: 1 x chan receive -> time_io|may_wake
//
// Verdicts are `leaked` (can never wake), `time_io` (waits on a timer, the netpoller, a
// syscall) and `may_wake` (a live goroutine can still reach what it waits on); alternatives
// separated by `|` name the verdicts a correct judge may give (either is right, neither is a leak).
//
// A malformed mark is a mistake in a test program, not an expected condition: the readers
// throw MarkError naming file:line and the expected form, which fails the test that read it.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gorepro::testing {

struct LeakMark {
  std::string file;                  // absolute path of the .go file
  int line = 0;                      // 1-based line of the go statement
  int count = 0;                     // goroutines from it alive at exit, > 0
  std::vector<std::string> reasons;  // accepted wait reasons, at least one
  bool may = false;                  // `may leak`: 0 to count are left, depending on the schedule
  std::map<std::string, int> verdicts;  // verdict → goroutines, adding up to count ({"leaked": count} by default)
  std::string why;                      // the parenthesized reason after the verdicts, "" if none

  bool accepts(std::string_view reason) const;
  int count_with(const std::string& verdict) const {
    auto it = verdicts.find(verdict);
    return it == verdicts.end() ? 0 : it->second;
  }
};

struct WaitMark {
  std::string file;                   // absolute path of the .go file
  int line = 0;                       // 1-based line the goroutines block on
  int count = 0;                      // goroutines blocked there at exit, > 0
  std::vector<std::string> reasons;   // accepted wait reasons, at least one
  std::vector<std::string> verdicts;  // accepted verdicts, at least one

  bool accepts(std::string_view reason) const;
  bool accepts_verdict(std::string_view verdict) const;
  bool leaked() const { return verdicts.size() == 1 && verdicts[0] == "leaked"; }
};

class MarkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The leak marks of one Go source text; `file` is used for LeakMark::file and in errors.
std::vector<LeakMark> parse_leak_marks(std::string_view source, const std::string& file);

// The leak marks of every .go file directly in `go_source_dir`, ordered by file, then line.
// No marks is a valid answer (a program that leaks nothing).
std::vector<LeakMark> read_leak_marks(const std::string& go_source_dir);

// The wait marks of one Go source text, and of every .go file directly in a directory (ordered
// by file, then line).
std::vector<WaitMark> parse_wait_marks(std::string_view source, const std::string& file);
std::vector<WaitMark> read_wait_marks(const std::string& go_source_dir);

// NAME → 1-based line for each `// mark: NAME` in a source text; a repeated NAME is an error.
std::map<std::string, int> parse_marked_lines(std::string_view source, const std::string& file);
std::map<std::string, int> read_marked_lines(const std::string& file);

}  // namespace gorepro::testing
