#include "tracer/runtime_output.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tracer/ptrace_backend.h"

namespace gorepro::tracer {

namespace {

// A dump's lines arrive within microseconds of each other; this much silence at a line
// boundary means the block is complete (the runtime prints the next one a period later).
constexpr int kIdleMs = 20;

}  // namespace

Result<std::unique_ptr<RuntimeOutputCapture>> RuntimeOutputCapture::create(Options options) {
  std::unique_ptr<RuntimeOutputCapture> c(new RuntimeOutputCapture());
  c->options_ = options;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return make_error(fmt::format("cannot create a pipe for the program's runtime output: {}", std::strerror(errno)));
  }
  c->read_fd_ = fds[0], c->write_fd_ = fds[1];
  c->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (c->wake_fd_ < 0) return make_error(fmt::format("cannot create an eventfd: {}", std::strerror(errno)));
  return c;
}

RuntimeOutputCapture::~RuntimeOutputCapture() {
  if (thread_.joinable()) finish(0);
  for (int fd : {read_fd_, write_fd_, wake_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void RuntimeOutputCapture::start() {
  if (write_fd_ >= 0) {
    close(write_fd_);  // the program holds the only write end now: its exit means end of file
    write_fd_ = -1;
  }
  // The thread inherits the signal mask: block everything so SIGALRM/SIGINT/SIGCHLD keep
  // interrupting the recording thread's waitpid, where they are handled.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

std::vector<RuntimeOutputCapture::Block> RuntimeOutputCapture::take(uint64_t up_to_ns) {
  std::vector<Block> out;
  std::lock_guard lock(mu_);
  while (!queue_.empty() && queue_.front().first_ns <= up_to_ns) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_.store(queue_.size(), std::memory_order_release);
  return out;
}

void RuntimeOutputCapture::finish(uint64_t silence_ns) {
  if (!thread_.joinable()) return;
  silence_ns_.store(silence_ns);
  finishing_.store(true);
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void RuntimeOutputCapture::write_out(const char* data, size_t size) {
  while (size > 0 && !forward_broken_) {
    ssize_t n = write(options_.forward_fd, data, size);
    if (n > 0) {
      data += n, size -= static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{options_.forward_fd, POLLOUT, 0};
      poll(&p, 1, 100);
    } else {
      forward_broken_ = true;  // our stderr is gone: keep draining the program's output anyway
    }
  }
}

void RuntimeOutputCapture::forward(const replay::SchedStreamSplitter::Output& out) {
  size_t pos = 0;
  for (size_t i = 0; i < out.blocks.size(); i++) {
    write_out(out.passthrough.data() + pos, out.cut[i] - pos);
    pos = out.cut[i];
    if (options_.show_blocks) write_out(out.blocks[i].text.data(), out.blocks[i].text.size());
  }
  write_out(out.passthrough.data() + pos, out.passthrough.size() - pos);
  if (options_.show_blocks) write_out(out.unrecorded.data(), out.unrecorded.size());
  if (!out.blocks.empty()) {
    std::lock_guard lock(mu_);
    for (const Block& b : out.blocks) queue_.push_back(b);
    queued_.store(queue_.size(), std::memory_order_release);
  }
}

void RuntimeOutputCapture::run() {
  replay::SchedStreamSplitter splitter;
  std::vector<char> buf(64 * 1024);
  uint64_t last_data = monotonic_ns();
  bool idle_done = true;
  while (true) {
    pollfd fds[2] = {{read_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(fds, 2, kIdleMs);
    if (n < 0 && errno != EINTR) break;
    replay::SchedStreamSplitter::Output out;
    bool eof = false;
    if (n > 0 && (fds[1].revents & POLLIN)) {
      uint64_t v;
      (void)!read(wake_fd_, &v, sizeof v);
    }
    if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = read(read_fd_, buf.data(), buf.size());
      if (got > 0) {
        last_data = monotonic_ns();
        bytes_ += static_cast<uint64_t>(got);
        splitter.feed(std::string_view(buf.data(), static_cast<size_t>(got)), last_data, out);
        idle_done = false;
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        eof = true;
      }
    } else if (!idle_done && !dump_in_progress_.load(std::memory_order_acquire)) {
      splitter.idle(out);
      idle_done = true;
    }
    if (!eof && finishing_.load() && monotonic_ns() - last_data >= silence_ns_.load()) eof = true;
    if (eof) splitter.finish(out);
    forward(out);
    parsed_.store(splitter.blocks_parsed());
    skipped_.store(splitter.blocks_skipped());
    cut_short_.store(splitter.blocks_cut_short());
    if (eof) break;
  }
}

}  // namespace gorepro::tracer
