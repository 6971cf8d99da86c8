#include "tracer/metrics_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace gorepro::tracer {

namespace {

constexpr size_t kMaxRequest = 8192;
constexpr int kRequestTimeoutMs = 2000;

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string prometheus_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& host_port) {
  const auto bad = [&](const std::string& why) {
    return make_error(fmt::format("cannot serve metrics on '{}': {}", host_port, why),
                      "give an IPv4 address and a free port, e.g. --metrics 127.0.0.1:9464");
  };
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return bad("no :PORT");
  const std::string host = host_port.substr(0, colon), port_text = host_port.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) return bad("the port is not a number 0-65535");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.empty() ? "0.0.0.0" : host.c_str(), &addr.sin_addr) != 1) {
    return bad("not an IPv4 address");
  }
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0) return bad(std::strerror(errno));
  int one = 1;
  setsockopt(s->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s->listen_fd_, 16) != 0) {
    return bad(std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  s->port_ = ntohs(addr.sin_port);
  if (pipe2(s->wake_, O_CLOEXEC) != 0) return bad(std::strerror(errno));
  s->thread_ = std::thread([p = s.get()] {
    // Signals are the recording thread's (they interrupt its waits), never this one's.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    p->serve();
  });
  return s;
}

MetricsServer::~MetricsServer() {
  if (thread_.joinable()) {
    (void)!::write(wake_[1], "x", 1);
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void MetricsServer::publish(std::string text) {
  std::lock_guard<std::mutex> lock(mu_);
  text_.swap(text);
}

void MetricsServer::serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    answer(fd);
    ::close(fd);
  }
}

void MetricsServer::answer(int fd) {
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (req.size() > kMaxRequest || ::poll(&p, 1, kRequestTimeoutMs) <= 0) return;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    req.append(buf, static_cast<size_t>(n));
  }
  const bool get = req.rfind("GET ", 0) == 0;
  const size_t path_end = req.find(' ', 4);
  const std::string path = get && path_end != std::string::npos ? req.substr(4, path_end - 4) : "";
  if (!get || (path != "/metrics" && path.rfind("/metrics?", 0) != 0)) {
    write_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 30\r\nConnection: close\r\n\r\n"
                  "gorepro serves GET /metrics.\r\n");
    return;
  }
  std::string body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    body = text_;
  }
  write_all(fd, fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                            "Content-Length: {}\r\nConnection: close\r\n\r\n",
                            body.size()));
  write_all(fd, body);
}

}  // namespace gorepro::tracer
