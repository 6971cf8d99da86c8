#include "replay/schedtrace.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace gorepro::replay {

namespace {

constexpr std::string_view kHeaderPrefix = "SCHED ";
constexpr size_t kMaxHeldLine = 64 * 1024;  // a longer "SCHED " line is not the runtime's

bool is_key(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return !(k[0] >= '0' && k[0] <= '9');
}

std::optional<int64_t> parse_int(std::string_view s) {
  if (s == "nil") return -1;  // Go 1.21+: no P / M / G
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_int_or_bool(std::string_view s) {
  if (s == "true") return 1;
  if (s == "false") return 0;
  return parse_int(s);
}

std::optional<uint64_t> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// "k=v k=v ..." → pairs. A word without '=' continues the previous value (preemptoff is a
// free string such as "GC sweep termination"). Empty values are allowed (preemptoff=).
Result<SchedExtra> split_fields(std::string_view s) {
  SchedExtra out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != ' ') return make_error(fmt::format("expected a space before '{}'", s.substr(i, 20)));
    size_t start = i + 1;
    size_t end = s.find(' ', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view word = s.substr(start, end - start);
    size_t eq = word.find('=');
    if (eq == std::string_view::npos || !is_key(word.substr(0, eq))) {
      if (out.empty()) return make_error(fmt::format("'{}' is not a key=value field", word));
      out.back().second += ' ';
      out.back().second += word;
    } else {
      std::string key(word.substr(0, eq));
      for (const auto& kv : out) {
        if (kv.first == key) return make_error(fmt::format("field {} appears twice", key));
      }
      out.emplace_back(std::move(key), std::string(word.substr(eq + 1)));
    }
    i = end;
  }
  return out;
}

// Moves known fields out of `fields` into typed slots; what remains is `extra`.
class FieldTaker {
 public:
  explicit FieldTaker(SchedExtra fields) : fields_(std::move(fields)) {}
  // A known integer (or nil/true/false) field; `required` makes its absence an error.
  bool take(const char* key, int64_t* out, bool required = true) {
    for (size_t i = 0; i < fields_.size(); i++) {
      if (fields_[i].first != key) continue;
      auto v = parse_int_or_bool(fields_[i].second);
      if (!v) {
        error_ = fmt::format("{}={} is not a number", key, fields_[i].second);
        return false;
      }
      *out = *v;
      fields_.erase(fields_.begin() + static_cast<long>(i));
      return true;
    }
    if (required && error_.empty()) error_ = fmt::format("field {} is missing", key);
    return !required;
  }
  bool take_string(const char* key, std::string* out) {
    for (size_t i = 0; i < fields_.size(); i++) {
      if (fields_[i].first != key) continue;
      *out = fields_[i].second;
      fields_.erase(fields_.begin() + static_cast<long>(i));
      return true;
    }
    if (error_.empty()) error_ = fmt::format("field {} is missing", key);
    return false;
  }
  const std::string& error() const { return error_; }
  // Unknown fields are kept; but a value with spaces can only be preemptoff's, so a space
  // anywhere else means another writer's bytes got in.
  Result<SchedExtra> rest() {
    if (!error_.empty()) return make_error(error_);
    for (const auto& [k, v] : fields_) {
      if (v.find(' ') != std::string::npos) return make_error(fmt::format("field {}='{}' holds stray words", k, v));
    }
    return std::move(fields_);
  }

 private:
  SchedExtra fields_;
  std::string error_;
};

// "  X<id>:" prefix of a P/M/G line → the id and the rest after the colon.
std::optional<std::pair<uint64_t, std::string_view>> detail_prefix(std::string_view line, char what) {
  if (line.size() < 4 || line[0] != ' ' || line[1] != ' ' || line[2] != what) return std::nullopt;
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto id = parse_uint(line.substr(3, colon - 3));
  if (!id) return std::nullopt;
  return std::make_pair(*id, line.substr(colon + 1));
}

Result<SchedHeader> parse_header(std::string_view line, bool* detailed) {
  SchedHeader h;
  if (line.substr(0, kHeaderPrefix.size()) != kHeaderPrefix) return make_error("does not start with 'SCHED '");
  line.remove_prefix(kHeaderPrefix.size());
  size_t ms_end = line.find("ms:");
  if (ms_end == std::string_view::npos) return make_error("no 'ms:' after SCHED");
  auto ms = parse_uint(line.substr(0, ms_end));
  if (!ms) return make_error(fmt::format("'{}' is not a millisecond count", line.substr(0, ms_end)));
  h.ms = *ms;
  line.remove_prefix(ms_end + 3);
  // Without scheddetail the line ends in the per-P run-queue lengths: " [n n ...]" up to Go 1.25,
  // " [ n n ] schedticks=[ t t ]" from 1.26 (runtime/proc.go schedtrace: spaces inside the
  // brackets, then every P's schedtick).
  *detailed = true;
  if (!line.empty() && line.back() == ']') {
    *detailed = false;
    auto cut_list = [&](std::string_view opener, std::vector<int64_t>* out) -> Status {
      size_t open = line.rfind(opener);
      if (open == std::string_view::npos) return make_error(fmt::format("']' without '{}'", opener.substr(1)));
      std::string_view list = line.substr(open + opener.size(), line.size() - open - opener.size() - 1);
      line = line.substr(0, open);
      while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
      size_t i = 0;
      while (i < list.size()) {
        if (list[i] == ' ') {
          ++i;
          continue;
        }
        size_t sp = list.find(' ', i);
        if (sp == std::string_view::npos) sp = list.size();
        auto v = parse_int(list.substr(i, sp - i));
        if (!v || *v < 0) return make_error(fmt::format("list [{}] is not numbers", list));
        out->push_back(*v);
        i = sp;
      }
      return Ok{};
    };
    if (line.rfind(" schedticks=[") != std::string_view::npos) {
      if (auto st = cut_list(" schedticks=[", &h.schedticks); !st) return st.error();
      if (line.empty() || line.back() != ']') return make_error("schedticks=[…] without the run-queue list before it");
    }
    if (auto st = cut_list(" [", &h.local_runqueues); !st) return st.error();
  }
  auto fields = split_fields(line);
  if (!fields) return fields.error();
  FieldTaker t(std::move(*fields));
  t.take("gomaxprocs", &h.gomaxprocs);
  t.take("idleprocs", &h.idleprocs);
  t.take("threads", &h.threads);
  t.take("spinningthreads", &h.spinningthreads);
  t.take("needspinning", &h.needspinning, false);
  t.take("idlethreads", &h.idlethreads);
  t.take("runqueue", &h.runqueue);
  if (*detailed) {
    t.take("gcwaiting", &h.gcwaiting);
    t.take("nmidlelocked", &h.nmidlelocked);
    t.take("stopwait", &h.stopwait);
    t.take("sysmonwait", &h.sysmonwait);
  }
  auto rest = t.rest();
  if (!rest) return rest.error();
  h.extra = std::move(*rest);
  if (h.gomaxprocs <= 0) return make_error(fmt::format("gomaxprocs={}", h.gomaxprocs));
  if (!*detailed && h.local_runqueues.size() != static_cast<size_t>(h.gomaxprocs)) {
    return make_error(fmt::format("{} run-queue lengths for gomaxprocs={}", h.local_runqueues.size(), h.gomaxprocs));
  }
  if (!h.schedticks.empty() && h.schedticks.size() != static_cast<size_t>(h.gomaxprocs)) {
    return make_error(fmt::format("{} schedticks for gomaxprocs={}", h.schedticks.size(), h.gomaxprocs));
  }
  return h;
}

Result<SchedP> parse_p(std::string_view line) {
  auto pre = detail_prefix(line, 'P');
  if (!pre) return make_error("not a P line");
  SchedP p;
  p.id = static_cast<int64_t>(pre->first);
  auto fields = split_fields(pre->second);
  if (!fields) return fields.error();
  FieldTaker t(std::move(*fields));
  t.take("status", &p.status);
  t.take("schedtick", &p.schedtick);
  t.take("syscalltick", &p.syscalltick);
  t.take("m", &p.m);
  t.take("runqsize", &p.runqsize);
  t.take("gfreecnt", &p.gfreecnt);
  t.take("timerslen", &p.timerslen);
  auto rest = t.rest();
  if (!rest) return rest.error();
  p.extra = std::move(*rest);
  return p;
}

Result<SchedM> parse_m(std::string_view line) {
  auto pre = detail_prefix(line, 'M');
  if (!pre) return make_error("not an M line");
  SchedM m;
  m.id = static_cast<int64_t>(pre->first);
  auto fields = split_fields(pre->second);
  if (!fields) return fields.error();
  FieldTaker t(std::move(*fields));
  t.take("p", &m.p);
  t.take("curg", &m.curg);
  t.take("mallocing", &m.mallocing);
  t.take("throwing", &m.throwing);
  // preemptoff may hold spaces; take it before rest() looks for stray words.
  t.take_string("preemptoff", &m.preemptoff);
  t.take("locks", &m.locks);
  t.take("dying", &m.dying);
  t.take("spinning", &m.spinning);
  t.take("blocked", &m.blocked);
  t.take("lockedg", &m.lockedg);
  auto rest = t.rest();
  if (!rest) return rest.error();
  m.extra = std::move(*rest);
  return m;
}

Result<SchedG> parse_g(std::string_view line) {
  auto pre = detail_prefix(line, 'G');
  if (!pre) return make_error("not a G line");
  SchedG g;
  g.goid = pre->first;
  std::string_view s = pre->second;
  constexpr std::string_view kStatus = " status=";
  if (s.substr(0, kStatus.size()) != kStatus) return make_error("no status= after the goid");
  s.remove_prefix(kStatus.size());
  size_t paren = s.find('(');
  if (paren == std::string_view::npos) return make_error("no '(' after the status");
  auto status = parse_uint(s.substr(0, paren));
  if (!status || *status > 0xFFFF) return make_error(fmt::format("status '{}' is not a number", s.substr(0, paren)));
  g.status = static_cast<uint32_t>(*status);
  // The wait reason may itself hold parentheses ("select (no cases)"): it ends at the last ") m=".
  size_t close = s.rfind(") m=");
  if (close == std::string_view::npos || close < paren) return make_error("no ') m=' after the wait reason");
  g.wait_reason = std::string(s.substr(paren + 1, close - paren - 1));
  auto fields = split_fields(s.substr(close + 1));
  if (!fields) return fields.error();
  FieldTaker t(std::move(*fields));
  t.take("m", &g.m);
  t.take("lockedm", &g.lockedm);
  auto rest = t.rest();
  if (!rest) return rest.error();
  g.extra = std::move(*rest);
  return g;
}

}  // namespace

std::string_view runtime_class_name(RuntimeClass c) {
  switch (c) {
    case RuntimeClass::Idle: return "idle";
    case RuntimeClass::Runnable: return "runnable";
    case RuntimeClass::Running: return "running";
    case RuntimeClass::Syscall: return "syscall";
    case RuntimeClass::Waiting: return "waiting";
    case RuntimeClass::Dead: return "dead";
    case RuntimeClass::Other: return "other";
  }
  return "other";
}

RuntimeClass SchedG::runtime_class() const {
  switch (status & ~0x1000u) {  // _Gscan
    case 0: return RuntimeClass::Idle;
    case 1: return RuntimeClass::Runnable;
    case 2: return RuntimeClass::Running;
    case 3: return RuntimeClass::Syscall;
    case 4: return RuntimeClass::Waiting;
    case 6: return RuntimeClass::Dead;
    case 8: return RuntimeClass::Running;   // _Gcopystack: its own stack is being grown
    case 9: return RuntimeClass::Runnable;  // _Gpreempted: stopped, will be made runnable
    default: return RuntimeClass::Other;
  }
}

size_t SchedSample::live_goroutines() const {
  return static_cast<size_t>(std::count_if(gs.begin(), gs.end(), [](const SchedG& g) {
    RuntimeClass c = g.runtime_class();
    return c != RuntimeClass::Dead && c != RuntimeClass::Idle;
  }));
}

namespace {

// A whole block, or (prefix) the part of one the runtime had printed when its program exited:
// every line well-formed and in order, sections possibly missing at the end.
Result<SchedSample> parse_block(std::string_view text, bool prefix) {
  if (text.empty() || text.back() != '\n') return make_error("the block does not end with a newline (cut short)");
  SchedSample s;
  std::vector<std::string_view> lines;
  for (size_t i = 0; i < text.size();) {
    size_t nl = text.find('\n', i);
    lines.push_back(text.substr(i, nl - i));
    i = nl + 1;
  }
  auto header = parse_header(lines[0], &s.detailed);
  if (!header) return make_error(fmt::format("SCHED line: {}", header.error().what));
  s.header = std::move(*header);
  if (!s.detailed) {
    if (lines.size() != 1) return make_error("lines after a SCHED line without scheddetail");
    return s;
  }
  // P lines (one per P, ids 0..gomaxprocs-1), then M lines, then G lines.
  size_t i = 1;
  for (; i < lines.size() && detail_prefix(lines[i], 'P'); i++) {
    auto p = parse_p(lines[i]);
    if (!p) return make_error(fmt::format("line {} (P): {}", i + 1, p.error().what));
    if (p->id != static_cast<int64_t>(s.ps.size())) return make_error(fmt::format("line {}: P{} out of order", i + 1, p->id));
    s.ps.push_back(std::move(*p));
  }
  bool ended = i == lines.size();
  if (s.ps.size() != static_cast<size_t>(s.header.gomaxprocs) && !(prefix && ended)) {
    return make_error(fmt::format("{} P lines for gomaxprocs={}", s.ps.size(), s.header.gomaxprocs));
  }
  for (; i < lines.size() && detail_prefix(lines[i], 'M'); i++) {
    auto m = parse_m(lines[i]);
    if (!m) return make_error(fmt::format("line {} (M): {}", i + 1, m.error().what));
    s.ms.push_back(std::move(*m));
  }
  // allm may briefly hold fewer Ms than threads= counts (an exiting M), never more.
  ended = i == lines.size();
  if ((s.ms.empty() && !(prefix && ended)) || static_cast<int64_t>(s.ms.size()) > s.header.threads) {
    return make_error(fmt::format("{} M lines for threads={}", s.ms.size(), s.header.threads));
  }
  for (; i < lines.size(); i++) {
    auto g = parse_g(lines[i]);
    if (!g) return make_error(fmt::format("line {} (G): {}", i + 1, g.error().what));
    s.gs.push_back(std::move(*g));
  }
  // G1 (main) is in allgs for the life of the process: a dump without G lines was cut short.
  if (s.gs.empty() && !prefix) return make_error("no G lines (cut short)");
  return s;
}

}  // namespace

Result<SchedSample> parse_sched_block(std::string_view text) { return parse_block(text, false); }

// ---- SchedStreamSplitter ----

SchedStreamSplitter::LineKind SchedStreamSplitter::classify(std::string_view p, bool complete) const {
  auto starts = [&](std::string_view prefix) -> int {  // 1 yes, 0 undecided, -1 no
    size_t n = std::min(p.size(), prefix.size());
    if (p.substr(0, n) != prefix.substr(0, n)) return -1;
    return p.size() >= prefix.size() ? 1 : (complete ? -1 : 0);
  };
  if (p.size() > kMaxHeldLine) return LineKind::Other;
  int h = starts(kHeaderPrefix);
  if (h == 1) return LineKind::Header;
  bool undecided = h == 0;
  if (in_block_) {
    for (std::string_view c : {std::string_view("  P"), std::string_view("  M"), std::string_view("  G")}) {
      int r = starts(c);
      if (r == 1) {
        // The id digit decides: "  Mysql: ..." is not a scheduler line.
        if (p.size() == c.size()) return complete ? LineKind::Other : LineKind::Undecided;
        return (p[c.size()] >= '0' && p[c.size()] <= '9') ? LineKind::Continuation : LineKind::Other;
      }
      if (r == 0) undecided = true;
    }
  }
  return undecided ? LineKind::Undecided : LineKind::Other;
}

void SchedStreamSplitter::pass(std::string_view bytes, Output& out) { out.passthrough.append(bytes); }

void SchedStreamSplitter::close_block(Output& out) {
  if (!in_block_) return;
  in_block_ = false;
  auto parsed = parse_sched_block(block_.text);
  if (parsed) {
    parsed_++;
    out.cut.push_back(out.passthrough.size());
    out.blocks.push_back(std::move(block_));
  } else {
    skipped_++;
    last_skip_ = parsed.error().what;
    pass(block_.text, out);  // not provably the runtime's: the user keeps every byte
  }
  block_ = Block{};
}

void SchedStreamSplitter::feed(std::string_view bytes, uint64_t now, Output& out) {
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    size_t n = nl == std::string_view::npos ? bytes.size() : nl + 1;
    bool complete = nl != std::string_view::npos;
    if (passing_) {
      pass(bytes.substr(0, n), out);
      bytes.remove_prefix(n);
      passing_ = !complete;
      continue;
    }
    if (line_.empty()) line_first_ns_ = now;
    line_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    LineKind k = classify(line_, complete);
    if (k == LineKind::Other) {
      close_block(out);  // a line that does not continue the block ends it
      pass(line_, out);
      line_.clear();
      passing_ = !complete;
      continue;
    }
    if (!complete) continue;  // hold: it may still become (or continue) a block
    if (k == LineKind::Header) {
      close_block(out);
      in_block_ = true;
      block_.text = std::move(line_);
      block_.first_ns = line_first_ns_;
      block_.last_ns = now;
      // Without scheddetail the header is the whole block.
      if (block_.text.size() >= 2 && block_.text[block_.text.size() - 2] == ']') close_block(out);
    } else {
      block_.text += line_;
      block_.last_ns = now;
    }
    line_.clear();
  }
}

void SchedStreamSplitter::idle(Output& out) {
  if (!line_.empty() && classify(line_, false) == LineKind::Undecided) {
    // Too short to tell and nothing more came: not worth holding the user's bytes for.
    close_block(out);
    pass(line_, out);
    line_.clear();
    passing_ = true;
  }
  if (line_.empty()) close_block(out);
}

namespace {

// An unfinished last line that can only be the start of a SCHED header: "SCHED <ms>ms: gomaxprocs=...".
bool header_fragment(std::string_view p) {
  auto prefix_of = [](std::string_view s, std::string_view whole) {
    size_t n = std::min(s.size(), whole.size());
    return s.substr(0, n) == whole.substr(0, n);
  };
  if (!prefix_of(p, kHeaderPrefix)) return false;
  if (p.size() <= kHeaderPrefix.size()) return true;
  p.remove_prefix(kHeaderPrefix.size());
  size_t digits = 0;
  while (digits < p.size() && p[digits] >= '0' && p[digits] <= '9') digits++;
  if (digits == p.size()) return true;
  if (digits == 0 || !prefix_of(p.substr(digits), "ms: ")) return false;
  p.remove_prefix(std::min(p.size(), digits + 4));
  return prefix_of(p, "gomaxprocs=");
}

}  // namespace

void SchedStreamSplitter::finish(Output& out) {
  // The stream ends inside a dump: the program exited while its runtime was printing one (a
  // line of anyone else's would have ended the block). What it printed is recorded when it
  // parses as far as it goes; the rest — a dump cut before its G lines, an unfinished last
  // line — is the runtime's too and, like every SCHED line, reaches the user only when asked.
  bool fragment_ours = !line_.empty() && (in_block_ ? classify(line_, false) != LineKind::Other
                                                    : header_fragment(line_));
  bool cut = false;
  if (in_block_ && !parse_sched_block(block_.text)) {
    if (parse_block(block_.text, true)) {
      out.unrecorded += block_.text;
      in_block_ = false;
      block_ = Block{};
      cut = true;
    } else {
      fragment_ours = false;  // foreign bytes inside: the block and what follows are passed through
    }
  }
  close_block(out);
  if (!line_.empty()) {
    if (fragment_ours) {
      out.unrecorded += line_;
      cut = true;
    } else {
      pass(line_, out);
    }
    line_.clear();
  }
  if (cut) cut_short_++;
  passing_ = false;
}

SchedLog split_sched_log(std::string_view bytes) {
  SchedStreamSplitter sp;
  SchedStreamSplitter::Output out;
  sp.feed(bytes, 0, out);
  sp.finish(out);
  SchedLog log;
  log.skipped = sp.blocks_skipped();
  for (auto& b : out.blocks) {
    auto s = parse_sched_block(b.text);
    if (!s) continue;  // the splitter only hands out blocks that parse
    log.samples.push_back(std::move(*s));
    log.texts.push_back(std::move(b.text));
  }
  return log;
}

}  // namespace gorepro::replay
