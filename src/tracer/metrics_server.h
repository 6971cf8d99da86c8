// MetricsServer: `record --metrics HOST:PORT` — a small HTTP server on a thread of its own that
// answers `GET /metrics` with the last text the recording published (Prometheus text format
// 0.0.4), and 404 for any other path. The recording thread builds the text at its ticks and
// hands it over with publish(); a scrape never waits for the recording, nor the recording for
// a scrape (one mutex around a string swap). One connection at a time, each answered and
// closed (Connection: close), requests bounded at 8 KiB and 2 s: a scraper, not the world.
//
// Plain POSIX sockets and poll(): ~100 lines, where Boost.Asio would cost more compile time on
// this project's small build machines than the whole server.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "util/result.h"

namespace gorepro::tracer {

class MetricsServer {
 public:
  // Listens on "HOST:PORT" (an IPv4 address; port 0 picks a free one). An error names the
  // address and why it cannot be used.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& host_port);
  ~MetricsServer();  // stops the thread and closes the socket
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void publish(std::string text);
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  void serve();
  void answer(int fd);

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a byte here ends serve()
  int port_ = 0;
  std::mutex mu_;
  std::string text_;
  std::thread thread_;
};

// Label value escaping of the text format: backslash, double quote and newline.
std::string prometheus_label(std::string_view value);

}  // namespace gorepro::tracer
