#include "gdbmi/mi_parser.h"

#include <fmt/format.h>

#include <charconv>

namespace gorepro::gdbmi {

MiValue MiValue::constant(std::string bytes) {
  MiValue v;
  v.kind = Kind::kConst;
  v.text = std::move(bytes);
  return v;
}

MiValue MiValue::tuple() {
  MiValue v;
  v.kind = Kind::kTuple;
  return v;
}

MiValue MiValue::list() {
  MiValue v;
  v.kind = Kind::kList;
  return v;
}

const MiValue* MiValue::get(std::string_view name) const {
  for (const MiResult& r : results) {
    if (r.name == name) return &r.value;
  }
  return nullptr;
}

std::vector<const MiValue*> MiValue::get_all(std::string_view name) const {
  std::vector<const MiValue*> out;
  for (const MiResult& r : results) {
    if (r.name == name) out.push_back(&r.value);
  }
  return out;
}

std::optional<std::string_view> MiValue::str(std::string_view name) const {
  const MiValue* v = get(name);
  if (!v || !v->is_const()) return std::nullopt;
  return std::string_view(v->text);
}

std::optional<uint64_t> MiValue::u64(std::string_view name) const {
  auto s = str(name);
  if (!s || s->empty()) return std::nullopt;
  int base = 10;
  std::string_view digits = *s;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  uint64_t out = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return out;
}

std::vector<const MiValue*> MiValue::elements() const {
  std::vector<const MiValue*> out;
  for (const MiValue& v : values) out.push_back(&v);
  for (const MiResult& r : results) out.push_back(&r.value);
  return out;
}

bool MiValue::operator==(const MiValue& o) const {
  return kind == o.kind && text == o.text && results == o.results && values == o.values;
}

const char* to_string(MiRecordKind kind) {
  switch (kind) {
    case MiRecordKind::kResult: return "result";
    case MiRecordKind::kExec: return "exec";
    case MiRecordKind::kStatus: return "status";
    case MiRecordKind::kNotify: return "notify";
    case MiRecordKind::kConsole: return "console";
    case MiRecordKind::kTarget: return "target";
    case MiRecordKind::kLog: return "log";
    case MiRecordKind::kPrompt: return "prompt";
  }
  return "?";
}

std::string_view MiRecord::error_message() const {
  if (kind != MiRecordKind::kResult || klass != "error") return {};
  return payload.str("msg").value_or(std::string_view());
}

namespace {

// Deep enough for anything gdb prints (a few levels), shallow enough for the stack of an
// ASan build: the recursion below is bounded by it.
constexpr int kMaxDepth = 200;

// A printable excerpt of the line around a position, for error messages.
std::string excerpt(std::string_view line, size_t pos) {
  size_t from = pos > 30 ? pos - 30 : 0;
  std::string_view part = line.substr(from, 60);
  std::string out = mi_quote(part);
  if (from > 0) out.insert(0, "...");
  if (from + part.size() < line.size()) out += "...";
  return out;
}

class LineParser {
 public:
  explicit LineParser(std::string_view line) : s_(line) {}

  Result<MiRecord> record() {
    MiRecord r;
    if (s_.substr(0, 5) == "(gdb)") {
      for (size_t i = 5; i < s_.size(); i++) {
        if (s_[i] != ' ' && s_[i] != '\t') return fail(i, "nothing after the (gdb) prompt");
      }
      r.kind = MiRecordKind::kPrompt;
      return r;
    }
    size_t digits = 0;
    while (digits < s_.size() && s_[digits] >= '0' && s_[digits] <= '9') digits++;
    if (digits > 0) {
      uint64_t token = 0;
      auto [end, ec] = std::from_chars(s_.data(), s_.data() + digits, token);
      if (ec != std::errc() || end != s_.data() + digits) return fail(0, "a token that fits 64 bits");
      r.token = token;
      pos_ = digits;
    }
    if (pos_ >= s_.size()) return fail(pos_, "a record type (^ * + = ~ @ &)");
    char type = s_[pos_++];
    switch (type) {
      case '^': r.kind = MiRecordKind::kResult; break;
      case '*': r.kind = MiRecordKind::kExec; break;
      case '+': r.kind = MiRecordKind::kStatus; break;
      case '=': r.kind = MiRecordKind::kNotify; break;
      case '~': r.kind = MiRecordKind::kConsole; break;
      case '@': r.kind = MiRecordKind::kTarget; break;
      case '&': r.kind = MiRecordKind::kLog; break;
      default: return fail(pos_ - 1, "a record type (^ * + = ~ @ &)");
    }
    if (r.is_stream()) {
      if (r.token) return fail(0, "no token before a stream record");
      auto text = cstring();
      if (!text) return text.error();
      r.text = std::move(*text);
      if (pos_ != s_.size()) return fail(pos_, "the end of the line after the stream's c-string");
      return r;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && is_class_char(s_[pos_])) pos_++;
    if (pos_ == start) return fail(start, r.kind == MiRecordKind::kResult ? "a result class" : "an async class");
    r.klass.assign(s_.substr(start, pos_ - start));
    while (pos_ < s_.size()) {
      if (s_[pos_] != ',') return fail(pos_, "',' or the end of the line");
      pos_++;
      auto res = result(0);
      if (!res) return res.error();
      r.payload.results.push_back(std::move(*res));
    }
    return r;
  }

 private:
  static bool is_class_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }
  // Variable names: whatever gdb uses ("thread-id", "bkpt", "addr_flags"), up to the '='.
  static bool is_name_char(char c) {
    return c != '=' && c != ',' && c != '{' && c != '}' && c != '[' && c != ']' && c != '"' &&
           static_cast<unsigned char>(c) > ' ';
  }

  Error fail(size_t pos, std::string_view expected) const {
    return make_error(fmt::format("malformed GDB/MI output at byte {}: expected {} in {}", pos, expected,
                                  excerpt(s_, pos)),
                      "gdb wrote a line gorepro cannot read; please report it with the gdb version");
  }

  Result<MiResult> result(int depth) {
    MiResult r;
    // A value where a result belongs has an empty name: gdb prints these though the grammar has
    // none (the manual's `+download,{section=...}`, MI2's `bkpt={...},{...}`).
    if (pos_ < s_.size() && (s_[pos_] == '"' || s_[pos_] == '{' || s_[pos_] == '[')) {
      auto v = value(depth);
      if (!v) return v.error();
      r.value = std::move(*v);
      return r;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && is_name_char(s_[pos_])) pos_++;
    if (pos_ == start) return fail(start, "a variable name");
    r.name.assign(s_.substr(start, pos_ - start));
    if (pos_ >= s_.size() || s_[pos_] != '=') return fail(pos_, "'=' after a variable name");
    pos_++;
    auto v = value(depth);
    if (!v) return v.error();
    r.value = std::move(*v);
    return r;
  }

  Result<MiValue> value(int depth) {
    if (depth >= kMaxDepth) return fail(pos_, fmt::format("at most {} nested tuples and lists", kMaxDepth));
    if (pos_ >= s_.size()) return fail(pos_, "a value");
    char c = s_[pos_];
    if (c == '"') {
      auto text = cstring();
      if (!text) return text.error();
      return MiValue::constant(std::move(*text));
    }
    if (c == '{') {
      pos_++;
      MiValue t = MiValue::tuple();
      if (pos_ < s_.size() && s_[pos_] == '}') {
        pos_++;
        return t;
      }
      while (true) {
        auto r = result(depth + 1);
        if (!r) return r.error();
        t.results.push_back(std::move(*r));
        if (pos_ >= s_.size()) return fail(pos_, "',' or '}'");
        if (s_[pos_] == '}') {
          pos_++;
          return t;
        }
        if (s_[pos_] != ',') return fail(pos_, "',' or '}'");
        pos_++;
      }
    }
    if (c == '[') {
      pos_++;
      MiValue l = MiValue::list();
      if (pos_ < s_.size() && s_[pos_] == ']') {
        pos_++;
        return l;
      }
      // The first element decides: a value starts with '"', '{' or '['; anything else is a name.
      const bool of_values = pos_ < s_.size() && (s_[pos_] == '"' || s_[pos_] == '{' || s_[pos_] == '[');
      while (true) {
        if (of_values) {
          auto v = value(depth + 1);
          if (!v) return v.error();
          l.values.push_back(std::move(*v));
        } else {
          auto r = result(depth + 1);
          if (!r) return r.error();
          l.results.push_back(std::move(*r));
        }
        if (pos_ >= s_.size()) return fail(pos_, "',' or ']'");
        if (s_[pos_] == ']') {
          pos_++;
          return l;
        }
        if (s_[pos_] != ',') return fail(pos_, "',' or ']'");
        pos_++;
      }
    }
    return fail(pos_, "a value ('\"', '{' or '[')");
  }

  // A c-string starting at pos_ (its opening quote), decoded.
  Result<std::string> cstring() {
    if (pos_ >= s_.size() || s_[pos_] != '"') return fail(pos_, "'\"' opening a c-string");
    size_t open = pos_++;
    std::string out;
    while (true) {
      // Copy the run of plain bytes at once: long console lines are mostly that.
      size_t run = pos_;
      while (run < s_.size() && s_[run] != '"' && s_[run] != '\\') run++;
      out.append(s_.substr(pos_, run - pos_));
      pos_ = run;
      if (pos_ >= s_.size()) return fail(open, "a c-string closed by '\"' on the same line");
      if (s_[pos_] == '"') {
        pos_++;
        return out;
      }
      pos_++;  // the backslash
      if (pos_ >= s_.size()) return fail(pos_, "an escape after '\\'");
      char e = s_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'a': out += '\a'; break;
        case 'e': out += '\033'; break;
        case '\\': case '"': case '\'': case '?': out += e; break;
        default:
          if (e >= '0' && e <= '7') {
            // gdb writes three digits; C allows one to three: take up to three.
            unsigned v = static_cast<unsigned>(e - '0');
            for (int i = 0; i < 2 && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '7'; i++) {
              v = v * 8 + static_cast<unsigned>(s_[pos_++] - '0');
            }
            if (v > 0xff) return fail(pos_ - 3, "an octal escape of at most \\377");
            out += static_cast<char>(v);
          } else {
            return fail(pos_ - 2, "a known escape (\\n \\t \\r \\b \\f \\v \\a \\e \\\\ \\\" \\' or octal)");
          }
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

void append_value(const MiValue& v, std::string& out);

void append_result(const MiResult& r, std::string& out) {
  if (!r.name.empty()) {
    out += r.name;
    out += '=';
  }
  append_value(r.value, out);
}

void append_value(const MiValue& v, std::string& out) {
  switch (v.kind) {
    case MiValue::Kind::kConst: out += mi_quote(v.text); return;
    case MiValue::Kind::kTuple:
      out += '{';
      for (size_t i = 0; i < v.results.size(); i++) {
        if (i) out += ',';
        append_result(v.results[i], out);
      }
      out += '}';
      return;
    case MiValue::Kind::kList: {
      out += '[';
      bool first = true;
      for (const MiValue& e : v.values) {
        if (!first) out += ',';
        first = false;
        append_value(e, out);
      }
      for (const MiResult& r : v.results) {
        if (!first) out += ',';
        first = false;
        append_result(r, out);
      }
      out += ']';
      return;
    }
  }
}

}  // namespace

Result<MiRecord> parse_mi_line(std::string_view line) { return LineParser(line).record(); }

std::string mi_quote(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 2);
  out += '"';
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n': out += "\\n"; continue;
      case '\t': out += "\\t"; continue;
      case '\r': out += "\\r"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\a': out += "\\a"; continue;
      case '\033': out += "\\e"; continue;
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      default: break;
    }
    // As gdb's printchar: control characters and DEL..0x9f in octal, other bytes as they are.
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
      out += fmt::format("\\{:03o}", c);
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

std::string to_mi(const MiValue& value) {
  std::string out;
  append_value(value, out);
  return out;
}

std::string to_mi(const MiRecord& r) {
  std::string out;
  if (r.kind == MiRecordKind::kPrompt) return "(gdb)";
  if (r.token) out += std::to_string(*r.token);
  switch (r.kind) {
    case MiRecordKind::kResult: out += '^'; break;
    case MiRecordKind::kExec: out += '*'; break;
    case MiRecordKind::kStatus: out += '+'; break;
    case MiRecordKind::kNotify: out += '='; break;
    case MiRecordKind::kConsole: out += '~'; break;
    case MiRecordKind::kTarget: out += '@'; break;
    case MiRecordKind::kLog: out += '&'; break;
    case MiRecordKind::kPrompt: break;
  }
  if (r.is_stream()) return out + mi_quote(r.text);
  out += r.klass;
  for (const MiResult& res : r.payload.results) {
    out += ',';
    append_result(res, out);
  }
  return out;
}

void MiParser::feed(std::string_view bytes, std::vector<Result<MiRecord>>& out) {
  while (!bytes.empty()) {
    if (after_cr_ && bytes.front() == '\n') bytes.remove_prefix(1);
    after_cr_ = false;
    size_t nl = bytes.find_first_of("\r\n");
    std::string_view part = bytes.substr(0, nl);
    if (overlong_) {
      overlong_size_ += part.size();
    } else if (line_.size() + part.size() > max_line_) {
      overlong_ = true;
      overlong_size_ = line_.size() + part.size();
      line_.clear();
      line_.shrink_to_fit();
    } else {
      line_.append(part);
    }
    if (nl == std::string_view::npos) return;
    after_cr_ = bytes[nl] == '\r';
    bytes.remove_prefix(nl + 1);
    end_line(out);
  }
}

void MiParser::finish(std::vector<Result<MiRecord>>& out) {
  // A line cut short is not parsed: its beginning may read as a whole record ("^do").
  if (overlong_) {
    end_line(out);
  } else if (!line_.empty()) {
    out.push_back(make_error(fmt::format("gdb's output ended inside a line: {}", excerpt(line_, 0)),
                             "gdb stopped in the middle of writing; see the error about gdb's exit"));
    line_.clear();
  }
  after_cr_ = false;
}

void MiParser::end_line(std::vector<Result<MiRecord>>& out) {
  if (overlong_) {
    out.push_back(make_error(fmt::format("a GDB/MI line of {} bytes, more than the {} bytes gorepro reads",
                                         overlong_size_, max_line_),
                             "gdb printed far more than any command gorepro sends should produce"));
    overlong_ = false;
    overlong_size_ = 0;
    return;
  }
  if (!line_.empty()) out.push_back(parse_mi_line(line_));
  line_.clear();
}

}  // namespace gorepro::gdbmi
