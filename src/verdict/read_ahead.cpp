#include "verdict/read_ahead.h"

#include <system_error>

#include "util/result.h"

namespace gorepro::verdict {

void ReadAhead::start(std::vector<ReadRange> ranges) {
  GOREPRO_CHECK(!busy_, "ReadAhead::start with a batch under way");
  ranges_ = std::move(ranges);
  busy_ = true;
  if (!mem_.concurrent_reads()) {
    failed_ = mem_.read_many(ranges_);
    return;
  }
  try {
    done_ = std::async(std::launch::async, [this] { return mem_.read_many(ranges_); });
  } catch (const std::system_error&) {  // no thread to be had: read now
    failed_ = mem_.read_many(ranges_);
  }
}

size_t ReadAhead::wait() {
  if (!busy_) return 0;
  busy_ = false;
  if (done_.valid()) failed_ = done_.get();
  return failed_;
}

}  // namespace gorepro::verdict
