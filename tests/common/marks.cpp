#include "common/marks.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace gorepro::testing {
namespace {

namespace fs = std::filesystem;

const char kLeakForm[] =
    "'// want leak: N x REASON[|REASON...] [-> VERDICT (why) | -> N1 VERDICT, N2 VERDICT (why)]' (or '// may leak: ...')";
const char* const kVerdicts[] = {"leaked", "may_wake", "time_io"};

// Calls f(line_number, text) for each line of source.
template <class F>
void for_each_line(std::string_view source, F f) {
  int number = 0;
  size_t start = 0;
  while (start <= source.size()) {
    size_t end = source.find('\n', start);
    if (end == std::string_view::npos) end = source.size();
    f(++number, std::string(source.substr(start, end - start)));
    start = end + 1;
  }
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

[[noreturn]] void fail(const std::string& file, int line, const std::string& what) {
  throw MarkError(file + ":" + std::to_string(line) + ": " + what);
}

// "a | b|c" → {"a", "b", "c"}; an empty alternative is an error naming `what` and `form`.
std::vector<std::string> split_alternatives(const std::string& alternatives, const std::string& file, int line,
                                            const std::string& what, const char* form) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    size_t bar = alternatives.find('|', start);
    std::string r = trim(alternatives.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (r.empty()) fail(file, line, "empty " + what + ": expected " + form);
    out.push_back(r);
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return out;
}

// The N of a mark, > 0; anything else (0, out of range) is an error naming the `kind` of mark.
int positive_count(const std::string& digits, const std::string& file, int line, const std::string& kind) {
  int n = 0;
  try {
    n = std::stoi(digits);
  } catch (const std::out_of_range&) {
  }
  if (n <= 0) fail(file, line, kind + " count must be a positive number: " + digits);
  return n;
}

// The .go files directly in a directory, sorted, as absolute paths.
std::vector<fs::path> go_files(const std::string& go_source_dir) {
  std::error_code ec;
  fs::path dir = fs::absolute(go_source_dir, ec).lexically_normal();
  if (ec || !fs::is_directory(dir, ec)) throw MarkError(go_source_dir + ": not a directory");
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".go") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw MarkError(path + ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The marks `parse` finds in every .go file directly in a directory, by file, then line.
template <class Mark>
std::vector<Mark> read_marks(const std::string& go_source_dir,
                             std::vector<Mark> (*parse)(std::string_view, const std::string&)) {
  std::vector<Mark> marks;
  for (const fs::path& p : go_files(go_source_dir)) {
    for (Mark& m : parse(read_file(p.string()), p.string())) marks.push_back(std::move(m));
  }
  return marks;
}

// "-> may_wake (why)" or "-> 8 leaked, 8 may_wake (why)" (the text after the arrow) into mark.
void parse_mark_verdicts(const std::string& text, const std::string& file, int line, LeakMark& mark) {
  static const std::regex form(R"(^([^()]*?)\s*(?:\((.+)\))?$)");
  static const std::regex counted(R"(^(\d+)\s+(\w+)$)");
  std::smatch m;
  if (!std::regex_match(text, m, form) || trim(m[1].str()).empty())
    fail(file, line, "malformed verdicts '-> " + text + "' in leak mark: expected " + kLeakForm);
  mark.why = trim(m[2].str());
  const std::string list = trim(m[1].str());
  auto known = [&](const std::string& v) {
    if (std::find(std::begin(kVerdicts), std::end(kVerdicts), v) == std::end(kVerdicts))
      fail(file, line, "unknown verdict '" + v + "' in leak mark: expected leaked, may_wake or time_io");
    return v;
  };
  if (list.find_first_of(" ,") == std::string::npos) {
    mark.verdicts[known(list)] = mark.count;
  } else {
    int sum = 0;
    for (size_t start = 0; start <= list.size();) {
      size_t comma = list.find(',', start);
      const std::string part = trim(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      std::smatch c;
      if (!std::regex_match(part, c, counted))
        fail(file, line, "malformed verdict '" + part + "' in leak mark: expected " + kLeakForm);
      const int n = positive_count(c[1].str(), file, line, "verdict");
      mark.verdicts[known(c[2].str())] += n;
      sum += n;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (sum != mark.count)
      fail(file, line, "the verdict counts add up to " + std::to_string(sum) + ", not the mark's " +
                           std::to_string(mark.count));
  }
  if (mark.count_with("leaked") != mark.count && mark.why.empty())
    fail(file, line, "a leak mark whose goroutines are not all leaked must say why, in parentheses after the verdicts");
}

}  // namespace

bool LeakMark::accepts(std::string_view reason) const {
  return std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
}

std::vector<LeakMark> parse_leak_marks(std::string_view source, const std::string& file) {
  // Anything that looks like an attempt at a mark is held to the exact form, so a typo cannot
  // silently turn ground truth into an ignored comment.
  static const std::regex attempt(R"(//\s*(want|may)\s+leak\b(.*)$)");
  static const std::regex form(R"(^:\s*(\d+)\s+x\s+(\S.*)$)");
  static const std::regex go_statement(R"((^|[^\w.])go\s+[\w(])");
  std::vector<LeakMark> marks;
  for_each_line(source, [&](int number, const std::string& text) {
    std::smatch m;
    if (!std::regex_search(text, m, attempt)) return;
    std::string code = text.substr(0, m.position(0));
    std::string rest = trim(m[2].str());
    std::smatch f;
    if (!std::regex_match(rest, f, form)) {
      fail(file, number, "malformed leak mark '" + trim(text.substr(m.position(0))) + "': expected " + kLeakForm);
    }
    LeakMark mark{file, number, 0, {}, m[1].str() == "may", {}, {}};
    mark.count = positive_count(f[1].str(), file, number, "leak mark");
    std::string reasons = f[2].str();
    const size_t arrow = reasons.find("->");
    if (arrow == std::string::npos) {
      mark.verdicts["leaked"] = mark.count;
    } else {
      parse_mark_verdicts(trim(reasons.substr(arrow + 2)), file, number, mark);
      reasons = reasons.substr(0, arrow);
    }
    mark.reasons = split_alternatives(reasons, file, number, "wait reason in leak mark", kLeakForm);
    if (!std::regex_search(code, go_statement)) {
      fail(file, number, "leak mark is not on the line of a go statement");
    }
    marks.push_back(std::move(mark));
  });
  return marks;
}

std::vector<LeakMark> read_leak_marks(const std::string& go_source_dir) {
  return read_marks(go_source_dir, parse_leak_marks);
}

bool WaitMark::accepts(std::string_view reason) const {
  return std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
}

bool WaitMark::accepts_verdict(std::string_view verdict) const {
  return std::find(verdicts.begin(), verdicts.end(), verdict) != verdicts.end();
}

std::vector<WaitMark> parse_wait_marks(std::string_view source, const std::string& file) {
  static const char kForm[] = "'// waits: N x REASON[|REASON...] -> VERDICT[|VERDICT]' (VERDICT: leaked, time_io, may_wake)";
  static const std::regex attempt(R"(//\s*waits:(.*)$)");
  static const std::regex form(R"(^(\d+)\s+x\s+(\S.*?)\s*->\s*(\S.*)$)");
  std::vector<WaitMark> marks;
  for_each_line(source, [&](int number, const std::string& text) {
    std::smatch m;
    if (!std::regex_search(text, m, attempt)) return;
    std::string rest = trim(m[1].str());
    std::smatch f;
    if (!std::regex_match(rest, f, form)) {
      fail(file, number, "malformed wait mark '" + trim(m[0].str()) + "': expected " + kForm);
    }
    WaitMark mark{file, number, 0, {}, {}};
    mark.count = positive_count(f[1].str(), file, number, "wait mark");
    mark.reasons = split_alternatives(f[2].str(), file, number, "wait reason in wait mark", kForm);
    mark.verdicts = split_alternatives(f[3].str(), file, number, "verdict in wait mark", kForm);
    for (const std::string& v : mark.verdicts) {
      if (v != "leaked" && v != "time_io" && v != "may_wake") fail(file, number, "unknown verdict '" + v + "': expected " + kForm);
    }
    if (mark.verdicts.size() > 1 && mark.accepts_verdict("leaked")) {
      fail(file, number, "a wait mark is leaked or not: 'leaked' cannot be one of several verdicts");
    }
    if (trim(text.substr(0, m.position(0))).empty()) fail(file, number, "wait mark is not on a line of code");
    marks.push_back(std::move(mark));
  });
  return marks;
}

std::vector<WaitMark> read_wait_marks(const std::string& go_source_dir) {
  return read_marks(go_source_dir, parse_wait_marks);
}

std::map<std::string, int> parse_marked_lines(std::string_view source, const std::string& file) {
  static const std::regex attempt(R"(//\s*mark:(.*)$)");
  static const std::regex name(R"([A-Za-z0-9_.\-]+)");
  std::map<std::string, int> lines;
  for_each_line(source, [&](int number, const std::string& text) {
    std::smatch m;
    if (!std::regex_search(text, m, attempt)) return;
    std::string n = trim(m[1].str());
    if (!std::regex_match(n, name)) {
      fail(file, number, "malformed line mark '" + trim(m[0].str()) + "': expected '// mark: NAME' (letters, digits, _ . -)");
    }
    auto [it, inserted] = lines.emplace(n, number);
    if (!inserted) fail(file, number, "line mark '" + n + "' already names line " + std::to_string(it->second));
  });
  return lines;
}

std::map<std::string, int> read_marked_lines(const std::string& file) {
  return parse_marked_lines(read_file(file), file);
}

}  // namespace gorepro::testing
