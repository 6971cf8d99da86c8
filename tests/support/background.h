// Background: a program running beside a test (an attach target, a server), whose stdout the
// test reads line by line (and whose stdin it may close); killed when the test is done with it.
// Also gorepro in the background, so a test can signal it mid-recording.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/go_programs.h"

namespace gorepro::testing {

// A program running in the background whose stdout the test reads line by line. With
// `piped_stdin`, its stdin is a pipe the test closes with close_stdin(); else it inherits the
// test's.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv, bool piped_stdin = false) {
    int p[2], in[2] = {-1, -1};
    EXPECT_EQ(pipe(p), 0);
    if (piped_stdin) {
      EXPECT_EQ(pipe(in), 0);
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(p[1], 1);
      close(p[0]);
      close(p[1]);
      if (piped_stdin) {
        dup2(in[0], 0);
        close(in[0]);
        close(in[1]);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(p[1]);
    if (piped_stdin) {
      close(in[0]);
      stdin_ = in[1];
    }
    out_ = fdopen(p[0], "r");
  }
  ~Background() {
    close_stdin();
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return pid_; }
  std::string read_line() {
    char buf[4096];
    if (!fgets(buf, sizeof buf, out_)) return "";
    std::string s(buf);
    seen_ += s;
    return s;
  }
  void close_stdin() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
  }
  // Reads the rest of stdout and the exit status.
  int wait(std::string* rest) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, out_)) > 0) seen_.append(buf, n);
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    *rest = seen_;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int stdin_ = -1;
  std::string seen_;
  bool waited_ = false;
};

// gorepro running in the background with its output discarded (or in `err_path`), so a test
// can signal it mid-recording; with `own_group`, as the leader of a process group of its own
// (as a shell's job, or under `timeout`), so the test can signal that group.
inline pid_t start_gorepro(const std::vector<std::string>& args, const std::string& err_path = "",
                           bool own_group = false) {
  pid_t pid = fork();
  if (pid == 0) {
    if (own_group) setpgid(0, 0);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    if (err_path.empty()) {
      dup2(devnull, 2);
    } else {
      int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(err, 2);
    }
    std::vector<std::string> argv = {gorepro_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> p;
    for (auto& a : argv) p.push_back(a.data());
    p.push_back(nullptr);
    execv(p[0], p.data());
    _exit(127);
  }
  return pid;
}

// Waits for a child; its exit status, or 128 + the signal that ended it.
inline int wait_status(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace gorepro::testing
