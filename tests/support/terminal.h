// Terminal: a command run in a pseudo-terminal, typed at and read from like a person would.
#pragma once

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace gorepro::testing {

// A program (gorepro replay, gorepro debug) in a pseudo-terminal, driven a keystroke string at a
// time, as a person at a terminal drives it.
class Terminal {
 public:
  explicit Terminal(const std::vector<std::string>& argv) {
    pid_ = forkpty(&fd_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      setenv("TERM", "xterm", 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  bool started() const { return pid_ > 0; }
  void type(const std::string& keys) { ASSERT_EQ(write(fd_, keys.data(), keys.size()), ssize_t(keys.size())); }
  // Reads the screen until `text` appears after what earlier waits consumed; false on timeout.
  bool wait_for(const std::string& text, int timeout_ms = 10000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (auto at = screen_.find(text, consumed_); at != std::string::npos) {
        consumed_ = at + text.size();
        return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return screen_.find(text, consumed_) != std::string::npos;
      screen_.append(buf, static_cast<size_t>(n));
    }
  }
  // The exit status, or -1 if the program is still running after timeout_ms.
  int wait_exit(int timeout_ms = 5000) {
    int status = 0;
    for (int i = 0; i < timeout_ms / 50; ++i) {
      char buf[4096];
      // Drain what it printed without blocking: a read on the master waits while the program
      // runs and prints nothing.
      for (pollfd p{fd_, POLLIN, 0}; poll(&p, 1, 0) > 0 && read(fd_, buf, sizeof buf) > 0;) {
      }
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      usleep(50'000);
    }
    return -1;
  }
  const std::string& screen() const { return screen_; }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string screen_;
  size_t consumed_ = 0;
};

}  // namespace gorepro::testing
