#include "replay/predicate.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace gorepro::replay {

namespace {

constexpr char kHint[] =
    "conditions read like leaked>0, live>1000, site=main.go:42, site=main.go:42 alive>5, reason='chan send', "
    "growth main.go:42 > 100/s, never_woken>0, joined by and/or/not and parentheses (see docs/predicates.md)";

struct Token {
  enum class Kind { kWord, kText, kOp, kOpen, kClose, kEnd } kind = Kind::kEnd;
  std::string text;
  size_t at = 0;  // byte offset in the input
};

bool is_op_char(char c) { return c == '>' || c == '<' || c == '=' || c == '!'; }

Result<std::vector<Token>> tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      i++;
    } else if (c == '(' || c == ')') {
      out.push_back({c == '(' ? Token::Kind::kOpen : Token::Kind::kClose, std::string(1, c), i});
      i++;
    } else if (c == '\'' || c == '"') {
      size_t end = s.find(c, i + 1);
      if (end == std::string_view::npos) {
        return make_error(fmt::format("unterminated quote at column {} of '{}'", i + 1, s), kHint);
      }
      out.push_back({Token::Kind::kText, std::string(s.substr(i + 1, end - i - 1)), i});
      i = end + 1;
    } else if (is_op_char(c)) {
      size_t len = (i + 1 < s.size() && s[i + 1] == '=') ? 2 : 1;
      out.push_back({Token::Kind::kOp, std::string(s.substr(i, len)), i});
      i += len;
    } else {
      size_t start = i;
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && s[i] != '(' && s[i] != ')' &&
             !is_op_char(s[i]) && s[i] != '\'' && s[i] != '"') {
        i++;
      }
      out.push_back({Token::Kind::kWord, std::string(s.substr(start, i - start)), start});
    }
  }
  out.push_back({Token::Kind::kEnd, "", s.size()});
  return out;
}

std::optional<Quantity> quantity_named(const std::string& w) {
  if (w == "leaked") return Quantity::kLeaked;
  if (w == "alive") return Quantity::kAlive;
  if (w == "created") return Quantity::kCreated;
  if (w == "live") return Quantity::kLive;
  if (w == "never_woken") return Quantity::kNeverWoken;
  return std::nullopt;
}

std::optional<Cmp> cmp_named(const std::string& op) {
  if (op == ">") return Cmp::kGt;
  if (op == ">=") return Cmp::kGe;
  if (op == "<") return Cmp::kLt;
  if (op == "<=") return Cmp::kLe;
  if (op == "==") return Cmp::kEq;
  if (op == "!=") return Cmp::kNe;
  return std::nullopt;
}

}  // namespace

const char* quantity_name(Quantity q) {
  switch (q) {
    case Quantity::kLeaked: return "leaked";
    case Quantity::kAlive: return "alive";
    case Quantity::kCreated: return "created";
    case Quantity::kLive: return "live";
    case Quantity::kGrowth: return "growth";
    case Quantity::kNeverWoken: return "never_woken";
  }
  return "?";
}

bool compare(double v, Cmp cmp, double bound) {
  switch (cmp) {
    case Cmp::kGt: return v > bound;
    case Cmp::kGe: return v >= bound;
    case Cmp::kLt: return v < bound;
    case Cmp::kLe: return v <= bound;
    case Cmp::kEq: return v == bound;
    case Cmp::kNe: return v != bound;
  }
  return false;
}

class PredicateParser {
 public:
  PredicateParser(std::string_view text, std::vector<Token> tokens, Predicate& p)
      : text_(text), tokens_(std::move(tokens)), p_(p) {}

  Status parse() {
    auto root = expr();
    if (!root) return root.error();
    if (peek().kind != Token::Kind::kEnd) return unexpected("where the condition should end");
    p_.root_ = *root;
    return Ok{};
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& take() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool is_word(const char* w) const { return peek().kind == Token::Kind::kWord && peek().text == w; }

  Error unexpected(const char* where) const {
    const Token& t = peek();
    std::string what = t.kind == Token::Kind::kEnd ? "the end" : fmt::format("'{}'", t.text);
    return make_error(fmt::format("cannot read the condition '{}': {} at column {}, {}", text_, what, t.at + 1, where),
                      kHint);
  }

  int add(Predicate::Node n) {
    p_.nodes_.push_back(n);
    return static_cast<int>(p_.nodes_.size() - 1);
  }

  // left (word right)*, folded to the left: `or` over terms, `and` over factors.
  Result<int> chain(const char* word, Predicate::Node::Op op, Result<int> (PredicateParser::*next)()) {
    auto left = (this->*next)();
    if (!left) return left;
    while (is_word(word)) {
      take();
      auto right = (this->*next)();
      if (!right) return right;
      left = add({op, 0, *left, *right});
    }
    return left;
  }
  Result<int> expr() { return chain("or", Predicate::Node::Op::kOr, &PredicateParser::term); }
  Result<int> term() { return chain("and", Predicate::Node::Op::kAnd, &PredicateParser::factor); }

  Result<int> factor() {
    if (is_word("not")) {
      take();
      auto inner = factor();
      if (!inner) return inner;
      return add({Predicate::Node::Op::kNot, 0, *inner, -1});
    }
    if (peek().kind == Token::Kind::kOpen) {
      take();
      auto inner = expr();
      if (!inner) return inner;
      if (peek().kind != Token::Kind::kClose) return unexpected("where ')' should close the '('");
      take();
      return inner;
    }
    return condition();
  }

  // A number, with /s or /m after it for rates.
  Result<double> number(bool rate) {
    const Token& t = peek();
    if (t.kind != Token::Kind::kWord) return unexpected("where a number should be");
    std::string w = t.text;
    double per = 1;
    if (rate && w.size() > 2 && (w.ends_with("/s") || w.ends_with("/m"))) {
      per = w.back() == 'm' ? 60 : 1;
      w.resize(w.size() - 2);
    }
    char* end = nullptr;
    double v = std::strtod(w.c_str(), &end);
    if (w.empty() || *end != '\0' || !std::isfinite(v) || v < 0) return unexpected("where a number should be");
    take();
    return v / per;
  }

  Result<Cmp> comparison() {
    if (peek().kind != Token::Kind::kOp) return unexpected("where a comparison (>, >=, <, <=, ==, !=) should be");
    auto c = cmp_named(peek().text);
    if (!c) return unexpected("where a comparison (>, >=, <, <=, ==, !=) should be");
    take();
    return *c;
  }

  Result<SitePattern> site() {
    const Token& t = peek();
    if (t.kind != Token::Kind::kWord && t.kind != Token::Kind::kText) {
      return unexpected("where a go statement (FILE:LINE or a function regex) should be");
    }
    auto pattern = SitePattern::parse(t.text);
    if (!pattern) return pattern.error();
    take();
    return *pattern;
  }

  Result<int> condition() {
    const size_t first = peek().at;
    Condition c;
    if (is_word("growth")) {
      take();
      auto s = site();
      if (!s) return s.error();
      c.selector.site = std::move(*s);
      auto cmp = comparison();
      if (!cmp) return cmp.error();
      auto v = number(true);
      if (!v) return v.error();
      c.quantity = Quantity::kGrowth;
      c.cmp = *cmp;
      c.value = *v;
      return finish(std::move(c), first);
    }
    bool selected = false;
    while (is_word("site") || is_word("reason")) {
      const bool is_site = peek().text == "site";
      take();
      if (peek().kind != Token::Kind::kOp || peek().text != "=") return unexpected("where '=' should follow");
      take();
      if (is_site) {
        auto s = site();
        if (!s) return s.error();
        c.selector.site = std::move(*s);
      } else {
        const Token& t = peek();
        if (t.kind != Token::Kind::kWord && t.kind != Token::Kind::kText) return unexpected("where a wait reason should be");
        c.selector.reason = t.text;
        take();
      }
      selected = true;
    }
    if (peek().kind == Token::Kind::kWord) {
      if (auto q = quantity_named(peek().text)) {
        take();
        auto cmp = comparison();
        if (!cmp) return cmp.error();
        auto v = number(false);
        if (!v) return v.error();
        c.quantity = *q;
        c.cmp = *cmp;
        c.value = *v;
        if (c.quantity == Quantity::kLive && selected) {
          return make_error(fmt::format("cannot read the condition '{}': live counts the whole program; "
                                        "per site or reason use alive", text_), kHint);
        }
        if (c.quantity == Quantity::kCreated && !c.selector.reason.empty()) {
          return make_error(fmt::format("cannot read the condition '{}': created counts go statements, which "
                                        "have no wait reason", text_), kHint);
        }
        return finish(std::move(c), first);
      }
    }
    if (!selected) return unexpected("where a condition should begin");
    c.quantity = Quantity::kAlive;  // site=... alone: some goroutine of it is alive
    c.cmp = Cmp::kGt;
    c.value = 0;
    return finish(std::move(c), first);
  }

  int finish(Condition c, size_t first) {
    const size_t last = peek().at;
    std::string_view t = text_.substr(first, last > first ? last - first : 0);
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
    c.text = std::string(t);
    p_.conditions_.push_back(std::move(c));
    return add({Predicate::Node::Op::kCondition, p_.conditions_.size() - 1, -1, -1});
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  Predicate& p_;
};

Result<Predicate> Predicate::parse(std::string_view text) {
  auto tokens = tokenize(text);
  if (!tokens) return tokens.error();
  if (tokens->size() == 1) return make_error("the condition is empty", kHint);
  Predicate p;
  p.text_ = std::string(text);
  PredicateParser parser(p.text_, std::move(*tokens), p);
  if (auto st = parser.parse(); !st) return st.error();
  return p;
}

bool Predicate::eval_node(int n, const PredicateFacts& facts) const {
  const Node& node = nodes_[static_cast<size_t>(n)];
  switch (node.op) {
    case Node::Op::kCondition: {
      const Condition& c = conditions_[node.condition];
      return compare(facts.value(c.quantity, c.selector), c.cmp, c.value);
    }
    case Node::Op::kAnd: return eval_node(node.left, facts) && eval_node(node.right, facts);
    case Node::Op::kOr: return eval_node(node.left, facts) || eval_node(node.right, facts);
    case Node::Op::kNot: return !eval_node(node.left, facts);
  }
  return false;
}

bool Predicate::eval(const PredicateFacts& facts) const { return root_ >= 0 && eval_node(root_, facts); }

std::string Predicate::explain(const PredicateFacts& facts) const {
  std::string out;
  for (const Condition& c : conditions_) {
    const double v = facts.value(c.quantity, c.selector);
    out += fmt::format("{}{} ({} = {}{})", out.empty() ? "" : ", ", c.text, quantity_name(c.quantity),
                       v == std::floor(v) ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v),
                       c.quantity == Quantity::kGrowth ? "/s" : "");
  }
  return out;
}

}  // namespace gorepro::replay
