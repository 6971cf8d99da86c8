// MiParser: gdb's machine interface (GDB/MI 3) output as values. Every line gdb writes on its MI
// channel is one record — a result (`[token]^done,...`), an exec/status/notify async record
// (`*stopped,...`, `+download,...`, `=thread-created,...`), a console/target/log stream record
// (`~"..."`, `@"..."`, `&"..."`) or the `(gdb)` prompt — whose payload is built from c-strings,
// tuples `{a="1",b=[...]}` and lists of values or of results. parse_mi_line() reads one line;
// MiParser cuts a byte stream into lines as it arrives, holding a partial line until its newline.
//
// Grammar: the GDB manual, "GDB/MI Output Syntax". c-strings carry gdb's escapes (printchar in
// gdb/utils.c): \n \t \r \b \f \a \e \\ \" \' and octal \NNN; bytes 0x80-0xff arrive raw or as
// octal, so text is kept as bytes (a non-UTF-8 path stays exactly as it is on disk).
//
// Invariants: records are plain values (no view into the input survives a call); keys repeated
// inside one tuple are all kept in order (gdb bug 22217: `thread-ids={thread-id="1",thread-id="2"}`);
// any input — binary, truncated, nested a million deep — gives records or Errors, never a crash
// and never unbounded memory (a line longer than max_line is reported and skipped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace gorepro::gdbmi {

struct MiResult;

// A value: a c-string constant, a tuple of named results, or a list — of values or of results
// (the grammar allows either, never both in one list).
struct MiValue {
  enum class Kind : uint8_t { kConst, kTuple, kList };
  Kind kind = Kind::kConst;
  std::string text;              // kConst: the decoded bytes
  std::vector<MiResult> results;  // kTuple; or a kList of results (`[frame={...},frame={...}]`)
  std::vector<MiValue> values;    // a kList of values (`["1","2"]`, `[{...},{...}]`)

  static MiValue constant(std::string bytes);
  static MiValue tuple();
  static MiValue list();

  bool is_const() const { return kind == Kind::kConst; }
  bool is_tuple() const { return kind == Kind::kTuple; }
  bool is_list() const { return kind == Kind::kList; }
  // The first result called name (tuples and lists of results); nullptr when there is none.
  const MiValue* get(std::string_view name) const;
  // Every result called name, in order: gdb repeats keys in some tuples (bug 22217).
  std::vector<const MiValue*> get_all(std::string_view name) const;
  // The constant called name, or nullopt (missing, or not a constant).
  std::optional<std::string_view> str(std::string_view name) const;
  // The constant called name read as an unsigned number: decimal, or hexadecimal with 0x.
  std::optional<uint64_t> u64(std::string_view name) const;
  // Elements of a list, whichever form it has: its values, or its results' values.
  std::vector<const MiValue*> elements() const;

  bool operator==(const MiValue& o) const;
};

struct MiResult {
  std::string name;  // empty for a bare value where the grammar wants a result (gdb prints a few)
  MiValue value;
  bool operator==(const MiResult& o) const { return name == o.name && value == o.value; }
};

enum class MiRecordKind : uint8_t {
  kResult,   // [token]^class,results      — the answer to the command with that token
  kExec,     // [token]*class,results      — the target's state (stopped, running)
  kStatus,   // [token]+class,results      — progress of a slow operation
  kNotify,   // [token]=class,results      — everything else gdb wants to say (threads, breakpoints)
  kConsole,  // ~"text"                    — what a CLI command printed
  kTarget,   // @"text"                    — the program's output (remote targets only)
  kLog,      // &"text"                    — gdb's own messages, warnings, echoed commands
  kPrompt,   // (gdb)                      — end of one batch of output
};
const char* to_string(MiRecordKind kind);

struct MiRecord {
  MiRecordKind kind = MiRecordKind::kPrompt;
  std::optional<uint64_t> token;  // result and async records only
  std::string klass;              // result class ("done", "error", ...) or async class ("stopped")
  MiValue payload = MiValue::tuple();  // the results after the class, as one tuple
  std::string text;               // stream records: the decoded c-string

  bool is_async() const {
    return kind == MiRecordKind::kExec || kind == MiRecordKind::kStatus || kind == MiRecordKind::kNotify;
  }
  bool is_stream() const {
    return kind == MiRecordKind::kConsole || kind == MiRecordKind::kTarget || kind == MiRecordKind::kLog;
  }
  // A result record's error message (`^error,msg="..."`), or empty.
  std::string_view error_message() const;
  bool operator==(const MiRecord& o) const = default;
};

// Parses one line, without its line terminator. Errors say where and what was expected.
Result<MiRecord> parse_mi_line(std::string_view line);

// The MI text of a record or a value (a c-string for constants): parse_mi_line(to_mi(r)) == r.
std::string to_mi(const MiRecord& record);
std::string to_mi(const MiValue& value);
// bytes as an MI c-string, quotes included, escaped the way gdb escapes: also how a command
// argument holding spaces, quotes or non-ASCII bytes is written on gdb's input.
std::string mi_quote(std::string_view bytes);

// Cuts a byte stream into lines (terminated by LF, CR or CR LF) and parses each complete one.
class MiParser {
 public:
  static constexpr size_t kDefaultMaxLine = size_t{256} << 20;
  explicit MiParser(size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}

  // Appends what these bytes complete to out: one entry per non-empty line, in order.
  void feed(std::string_view bytes, std::vector<Result<MiRecord>>& out);
  // End of stream: a last line without its terminator (gdb died while writing it) is reported.
  void finish(std::vector<Result<MiRecord>>& out);
  // Bytes held for a line not finished yet.
  size_t pending() const { return line_.size(); }

 private:
  void end_line(std::vector<Result<MiRecord>>& out);

  size_t max_line_;
  std::string line_;
  bool after_cr_ = false;   // the last byte was a CR: an LF right after it ends no new line
  bool overlong_ = false;   // the current line passed max_line_: drop it up to its end
  size_t overlong_size_ = 0;
};

}  // namespace gorepro::gdbmi
