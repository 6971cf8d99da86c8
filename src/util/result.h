// Result<T>: the value of an operation that can fail in an expected way (not a Go binary, no
// such pid, truncated trace). The failure carries what went wrong and what the user can do;
// the CLI prints them as "gorepro: <what> — <hint>". Invariant violations are not Results: they
// abort (see GOREPRO_CHECK).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace gorepro {

struct Error {
  std::string what;  // what went wrong, naming the thing (file, pid, offset)
  std::string hint;  // what to do about it; may be empty

  std::string message() const { return hint.empty() ? what : what + " — " + hint; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    if (ok()) { std::fprintf(stderr, "gorepro: internal error: error() on a successful Result\n"); std::abort(); }
    return std::get<1>(v_);
  }

 private:
  void check() const {
    if (!ok()) {
      std::fprintf(stderr, "gorepro: internal error: value() on a failed Result: %s\n",
                   std::get<1>(v_).message().c_str());
      std::abort();
    }
  }
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;

inline Error make_error(std::string what, std::string hint = {}) {
  return Error{std::move(what), std::move(hint)};
}

}  // namespace gorepro

// Aborts loudly with context when an internal invariant does not hold.
#define GOREPRO_CHECK(cond, msg)                                                          \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "gorepro: internal error at %s:%d: %s (%s)\n", __FILE__, __LINE__, \
                   (msg), #cond);                                                         \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
