// Background: a program running beside a test (an attach target, a server), whose stdout the
// test reads line by line; killed when the test is done with it.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace gorepro::testing {

// A program running in the background whose stdout the test reads line by line.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv) {
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(p[1], 1);
      close(p[0]);
      close(p[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(p[1]);
    out_ = fdopen(p[0], "r");
  }
  ~Background() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  pid_t pid() const { return pid_; }
  std::string read_line() {
    char buf[4096];
    if (!fgets(buf, sizeof buf, out_)) return "";
    std::string s(buf);
    seen_ += s;
    return s;
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
  std::string seen_;
  bool waited_ = false;
};

}  // namespace gorepro::testing
