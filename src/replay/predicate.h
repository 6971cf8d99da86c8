// Predicate: the one grammar in which a user says what a run shows — `gorepro check --fail-if`,
// `gorepro repro --until` and `gorepro record --until` (triggers) all parse it here, so a
// condition means the same thing everywhere. docs/predicates.md is the user's reference.
//
//   expr      := term ('or' term)*
//   term      := factor ('and' factor)*
//   factor    := 'not' factor | '(' expr ')' | condition
//   condition := selector* [quantity cmp number]     (at least one of the two parts)
//              | 'growth' SITE cmp number['/s'|'/m']
//   selector  := 'site' '=' SITE | 'reason' '=' TEXT  (TEXT: 'quoted', "quoted" or one word)
//   quantity  := leaked | alive | created | live | never_woken
//   cmp       := > | >= | < | <= | == | !=
// A condition with selectors and no comparison means "alive > 0" (some goroutine of that site
// or reason is alive). SITE is FILE:LINE of a `go` statement (FILE matches by suffix) or a regex
// searched in its function's name, as in `replay` (SitePattern).
//
// Quantities count the program's goroutines (the runtime's own are never counted, like
// runtime.NumGoroutine), restricted by the selectors:
//   leaked   blocked (waiting) at the report instant — the program's exit, or the end of an
//            attach; live triggers: now. Where the trace carries leak verdicts, only those
//            that can never wake.
//   alive    alive at the report instant (any state)
//   created  ever created up to the report instant
//   live     alive at the busiest instant so far (its peak), so `live>1000` holds when the
//            program ever had more than 1000 goroutines
//   growth   the fastest net increase of a site's alive goroutines, per second, over any one
//            second so far
//   never_woken  blocked at the report instant where their go statement keeps adding goroutines
//            that block and none wakes ("growing and never woken", TraceFacts::never_woken)
// Invariants: parse() never throws and names the offending word; eval() is pure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replay/site_pattern.h"
#include "util/result.h"

namespace gorepro::replay {

enum class Quantity { kLeaked, kAlive, kCreated, kLive, kGrowth, kNeverWoken };
const char* quantity_name(Quantity q);

enum class Cmp { kGt, kGe, kLt, kLe, kEq, kNe };

struct Selector {
  std::optional<SitePattern> site;  // the go statement
  std::string reason;               // a wait reason, as the report spells it ("" = any)
};

// One comparison: quantity (of the goroutines the selector picks) cmp value.
struct Condition {
  Quantity quantity = Quantity::kAlive;
  Selector selector;
  Cmp cmp = Cmp::kGt;
  double value = 0;
  std::string text;  // as the user wrote it, for explanations
};

// What conditions are evaluated against: a finished trace (TraceFacts), or a recording in
// progress (the recorder's live counts).
class PredicateFacts {
 public:
  virtual ~PredicateFacts() = default;
  virtual double value(Quantity quantity, const Selector& selector) const = 0;
};

class Predicate {
 public:
  static Result<Predicate> parse(std::string_view text);

  bool eval(const PredicateFacts& facts) const;
  // Each condition with its value, e.g. "leaked>0 (leaked = 3)", joined by ", ".
  std::string explain(const PredicateFacts& facts) const;
  const std::string& text() const { return text_; }
  const std::vector<Condition>& conditions() const { return conditions_; }

 private:
  struct Node {
    enum class Op { kCondition, kAnd, kOr, kNot } op = Op::kCondition;
    size_t condition = 0;    // kCondition: index into conditions_
    int left = -1, right = -1;  // children, indices into nodes_
  };
  friend class PredicateParser;
  bool eval_node(int node, const PredicateFacts& facts) const;

  std::string text_;
  std::vector<Condition> conditions_;
  std::vector<Node> nodes_;
  int root_ = -1;
};

// Compares a value with a condition's bound.
bool compare(double value, Cmp cmp, double bound);

}  // namespace gorepro::replay
