// Small helpers every command shares: how an expected failure is printed.
#pragma once

#include <cstdio>

#include "util/result.h"

namespace gorepro::cli {

// Prints "gorepro: <what> — <hint>" on stderr and returns code, for `return fail(err, 1);`.
inline int fail(const Error& e, int code) {
  std::fprintf(stderr, "gorepro: %s\n", e.message().c_str());
  return code;
}

}  // namespace gorepro::cli
