#include "tracer/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace gorepro::tracer {

Result<GatedChild> GatedChild::spawn(const std::string& path, const std::vector<std::string>& argv,
                                     const LaunchOptions& options) {
  int gate[2], err[2];
  if (pipe2(gate, O_CLOEXEC) != 0) return make_error(fmt::format("cannot create a pipe: {}", std::strerror(errno)), "");
  if (pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    close(gate[0]);
    close(gate[1]);
    return make_error(fmt::format("cannot create a pipe: {}", std::strerror(e)), "");
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;  // built before fork: the child only calls async-signal-safe functions
  if (options.env) {
    for (const std::string& e : *options.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int c : options.cpus) {
    if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &cpus);
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {gate[0], gate[1], err[0], err[1]}) close(fd);
    return make_error(fmt::format("cannot fork: {}", std::strerror(e)), "");
  }
  if (pid == 0) {
    close(gate[1]);
    char c;
    // EINTR: a tracer attaching interrupts the read; EOF: gorepro went away without opening it.
    ssize_t n;
    while ((n = ::read(gate[0], &c, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) _exit(127);
    if (options.own_process_group) setpgid(0, 0);
    if (!options.cpus.empty() && sched_setaffinity(0, sizeof cpus, &cpus) != 0) {
      int e = errno;
      (void)!write(err[1], &e, sizeof e);
      _exit(127);
    }
    for (auto [child_fd, our_fd] : options.fds) {
      if (child_fd == our_fd) {
        fcntl(child_fd, F_SETFD, 0);
      } else if (dup2(our_fd, child_fd) < 0) {
        int e = errno;
        (void)!write(err[1], &e, sizeof e);
        _exit(127);
      }
    }
    if (options.env) {
      execve(path.c_str(), args.data(), envp.data());
    } else {
      execv(path.c_str(), args.data());
    }
    int e = errno;
    (void)!write(err[1], &e, sizeof e);
    _exit(127);
  }
  close(gate[0]);
  close(err[1]);
  GatedChild c;
  c.pid_ = pid;
  c.gate_fd_ = gate[1];
  c.error_fd_ = err[0];
  return c;
}

GatedChild::GatedChild(GatedChild&& o) noexcept : pid_(o.pid_), gate_fd_(o.gate_fd_), error_fd_(o.error_fd_) {
  o.pid_ = -1;
  o.gate_fd_ = o.error_fd_ = -1;
}

GatedChild::~GatedChild() {
  if (gate_fd_ >= 0) close(gate_fd_);
  if (error_fd_ >= 0) close(error_fd_);
}

void GatedChild::open_gate() {
  if (gate_fd_ < 0) return;
  (void)!write(gate_fd_, "g", 1);
  close(gate_fd_);
  gate_fd_ = -1;
}

std::optional<int> GatedChild::exec_errno() {
  if (error_fd_ < 0) return std::nullopt;
  int e = 0;
  ssize_t n;
  while ((n = ::read(error_fd_, &e, sizeof e)) < 0 && errno == EINTR) {
  }
  close(error_fd_);
  error_fd_ = -1;
  if (n != sizeof e) return std::nullopt;
  return e;
}

}  // namespace gorepro::tracer
