#include "gdbmi/mi_client.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>
#include <boost/process/args.hpp>
#include <boost/process/async_pipe.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/posix.hpp>
#include <boost/process/search_path.hpp>
#include <fmt/format.h>
#include <thread>

namespace bp = boost::process;
namespace asio = boost::asio;

namespace gorepro::gdbmi {

namespace {

constexpr size_t kStderrTail = 8192;

std::string seconds(std::chrono::milliseconds d) {
  return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000.0);
}

}  // namespace

std::optional<std::pair<int, int>> parse_gdb_version(std::string_view banner) {
  banner = banner.substr(0, banner.find('\n'));
  auto digit = [&](size_t i) { return i < banner.size() && isdigit(static_cast<unsigned char>(banner[i])); };
  auto number = [&](size_t& i) {
    int v = 0;
    for (; digit(i); i++) v = v < 100000 ? v * 10 + (banner[i] - '0') : v;
    return v;
  };
  std::optional<std::pair<int, int>> last;
  for (size_t i = 0; i < banner.size();) {
    if (!digit(i)) {
      i++;
      continue;
    }
    // A run like 13.1 or 7.6.1: its first two numbers; then past the whole run.
    int major = number(i);
    if (i < banner.size() && banner[i] == '.' && digit(i + 1)) {
      i++;
      last = std::make_pair(major, number(i));
      while (i < banner.size() && banner[i] == '.' && digit(i + 1)) {
        i++;
        number(i);
      }
    }
  }
  return last;
}

struct MiClient::Impl {
  asio::io_context io;
  bp::async_pipe out{io};
  bp::async_pipe err{io};
  asio::local::stream_protocol::socket in{io};  // gdb's stdin: written with MSG_NOSIGNAL
  asio::posix::stream_descriptor wake{io};       // an eventfd; wake() writes it
  int wake_fd = -1;
  bp::child child;
  std::array<char, 65536> out_buf{};
  std::array<char, 4096> err_buf{};
  uint64_t wake_buf = 0;
  std::string err_tail;
  FILE* log = nullptr;  // MiClientOptions::log_path
  std::deque<std::string> writes;  // the first is being written
  bool woken = false;
  bool reaped = false;
  int exit_status = -1;  // wait status once reaped
};

MiClient::MiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

pid_t MiClient::gdb_pid() const { return impl_->child.id(); }

std::string MiClient::stderr_tail() const {
  std::string t = impl_->err_tail;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

Result<std::unique_ptr<MiClient>> MiClient::start(const MiClientOptions& options) {
  std::string path = options.gdb;
  if (path.find('/') == std::string::npos) {
    path = bp::search_path(options.gdb).string();
    if (path.empty()) {
      return make_error(fmt::format("{} not found on PATH", options.gdb),
                        "install gdb 9 or newer (Debian package 'gdb'), or use another --backend");
    }
  } else if (access(path.c_str(), X_OK) != 0) {
    return make_error(fmt::format("cannot run {}: {}", path, strerror(errno)),
                      "give the path of a gdb 9 or newer executable");
  }

  auto impl = std::make_unique<Impl>();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return make_error(fmt::format("cannot create a socket pair for gdb: {}", strerror(errno)));
  }
  impl->in.assign(asio::local::stream_protocol(), sv[0]);
  const int child_in = sv[1];
  impl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->wake_fd < 0) {
    close(child_in);
    return make_error(fmt::format("cannot create an eventfd: {}", strerror(errno)));
  }
  impl->wake.assign(impl->wake_fd);

  std::error_code ec;
  try {
    impl->child = bp::child(
        bp::exe = path, bp::args = {"--interpreter=" + options.interpreter, "--nx", "-q"},
        bp::std_out > impl->out, bp::std_err > impl->err, bp::posix::fd.bind(0, child_in),
        // Its own process group: the terminal's SIGINT must not reach gdb.
        bp::extend::on_exec_setup([](auto&) { setpgid(0, 0); }), ec);
  } catch (const std::exception& e) {
    close(child_in);
    return make_error(fmt::format("cannot start {}: {}", path, e.what()), "check that it is an executable gdb");
  }
  close(child_in);
  if (ec) return make_error(fmt::format("cannot start {}: {}", path, ec.message()), "check that it is an executable gdb");

  std::unique_ptr<MiClient> client(new MiClient(std::move(impl)));
  client->default_timeout_ = options.default_timeout;
  std::string log = options.log_path;
  if (log.empty() && getenv("GOREPRO_GDB_LOG")) log = getenv("GOREPRO_GDB_LOG");
  if (!log.empty()) client->impl_->log = fopen(log.c_str(), "we");
  client->gdb_path_ = path;
  client->start_reading();

  // gdb is ready at its first prompt; one that cannot speak the MI asked for exits first.
  auto deadline = Clock::now() + options.start_timeout;
  if (!client->run_until([&] { return client->prompt_seen_; }, deadline, false)) {
    std::string err = client->stderr_tail();
    if (client->failure_) {
      if (err.find("unrecognized") != std::string::npos || err.find("Interpreter") != std::string::npos) {
        return make_error(fmt::format("{} does not speak GDB/MI {} (it says: {})", path,
                                      options.interpreter.substr(2), err),
                          "gorepro needs gdb 9 or newer; install a newer gdb");
      }
      return *client->failure_;
    }
    client->kill();
    return make_error(fmt::format("{} did not start within {}", path, seconds(options.start_timeout)),
                      "gdb seems hung; check that `gdb --interpreter=mi3 --nx -q` starts on this machine");
  }
  client->async_.clear();  // =thread-group-added: gdb's start, nothing the caller asked about
  auto v = client->command("-gdb-version", options.start_timeout);
  if (!v) return v.error();
  auto version = parse_gdb_version(v->console);
  if (!version) {
    return make_error(fmt::format("{} printed no version gorepro can read: {}", path,
                                  mi_quote(v->console.substr(0, 80))),
                      "gorepro needs GNU gdb 9 or newer");
  }
  client->version_ = fmt::format("{}.{}", version->first, version->second);
  if (version->first < kMinGdbMajor) {
    return make_error(fmt::format("{} is gdb {}, too old for GDB/MI 3", path, client->version_),
                      "gorepro needs gdb 9 or newer; install a newer gdb");
  }
  // No pager and no questions: either would wait for a human on an MI channel.
  for (const char* setting : {"-gdb-set pagination off", "-gdb-set confirm off", "-gdb-set height 0",
                              "-gdb-set width 0"}) {
    if (auto st = client->command(setting, options.start_timeout); !st) return st.error();
  }
  return client;
}

MiClient::~MiClient() {
  if (alive()) {
    // gdb detaches from a program it attached to when it exits; the backend detaches first anyway.
    if (auto t = send("-gdb-exit"); t) {
      run_until([&] { return !alive(); }, Clock::now() + std::chrono::seconds(1), false);
    }
  }
  if (!impl_->reaped) kill();
  if (impl_->wake_fd >= 0) {
    impl_->wake.close();  // closes wake_fd
  }
  if (impl_->log) fclose(impl_->log);
}

void MiClient::wake() {
  uint64_t one = 1;
  // eventfd write: async-signal-safe; EAGAIN (counter full) still leaves it readable.
  ssize_t n = ::write(impl_->wake_fd, &one, sizeof one);
  (void)n;
}

template <class Pred>
bool MiClient::run_until(Pred pred, Clock::time_point deadline, bool wakeable) {
  while (true) {
    if (pred()) return true;
    if (failure_) return pred();
    if (wakeable && impl_->woken) {
      impl_->woken = false;
      return pred();
    }
    if (Clock::now() >= deadline) return false;
    if (impl_->io.stopped()) impl_->io.restart();
    impl_->io.run_one_until(deadline);
  }
}

void MiClient::poll() {
  if (impl_->io.stopped()) impl_->io.restart();
  impl_->io.poll();
}

void MiClient::start_reading() {
  struct Reader {
    static void out(MiClient* self) {
      Impl& im = *self->impl_;
      im.out.async_read_some(asio::buffer(im.out_buf), [self](const boost::system::error_code& ec, size_t n) {
        if (n > 0) self->on_output(std::string_view(self->impl_->out_buf.data(), n));
        if (ec) {
          std::vector<Result<MiRecord>> last;
          self->parser_.finish(last);
          for (auto& r : last) {
            if (!r) self->protocol_error(r.error().what);
          }
          self->on_gdb_gone(ec == asio::error::eof ? "" : ec.message());
          return;
        }
        out(self);
      });
    }
    static void err(MiClient* self) {
      Impl& im = *self->impl_;
      im.err.async_read_some(asio::buffer(im.err_buf), [self](const boost::system::error_code& ec, size_t n) {
        Impl& im = *self->impl_;
        im.err_tail.append(im.err_buf.data(), n);
        if (im.err_tail.size() > kStderrTail) im.err_tail.erase(0, im.err_tail.size() - kStderrTail);
        if (!ec) err(self);
      });
    }
    static void wake(MiClient* self) {
      Impl& im = *self->impl_;
      im.wake.async_read_some(asio::buffer(&im.wake_buf, sizeof im.wake_buf),
                              [self](const boost::system::error_code& ec, size_t) {
                                if (ec) return;
                                self->impl_->woken = true;
                                wake(self);
                              });
    }
  };
  Reader::out(this);
  Reader::err(this);
  Reader::wake(this);
}

void MiClient::on_output(std::string_view bytes) {
  last_output_ = Clock::now();
  if (impl_->log) {
    fwrite(bytes.data(), 1, bytes.size(), impl_->log);
    fflush(impl_->log);
  }
  std::vector<Result<MiRecord>> records;
  parser_.feed(bytes, records);
  for (auto& r : records) {
    if (!r) {
      protocol_error(r.error().what);
      continue;
    }
    on_record(std::move(*r));
  }
}

void MiClient::protocol_error(std::string what) {
  protocol_errors_++;
  last_protocol_error_ = std::move(what);
}

void MiClient::on_record(MiRecord r) {
  switch (r.kind) {
    case MiRecordKind::kPrompt:
      prompt_seen_ = true;
      return;
    case MiRecordKind::kResult: {
      if (!r.token) {
        protocol_error(fmt::format("a result without a token: {}", to_mi(r).substr(0, 120)));
        return;
      }
      auto it = pending_.find(*r.token);
      if (it == pending_.end()) {
        if (abandoned_.erase(*r.token) == 0) {
          protocol_error(fmt::format("a result for no command sent: {}", to_mi(r).substr(0, 120)));
        }
        return;
      }
      if (it->second.nowait) {
        if (r.klass == "error") nowait_errors_.push_back({it->second.command, std::string(r.error_message())});
      } else {
        it->second.answer.result = std::move(r);
        answered_.emplace(it->first, std::move(it->second));
      }
      pending_.erase(it);
      return;
    }
    case MiRecordKind::kConsole:
    case MiRecordKind::kLog:
      // gdb runs one command at a time: text printed while commands wait belongs to the oldest.
      if (!pending_.empty()) {
        MiAnswer& a = pending_.begin()->second.answer;
        (r.kind == MiRecordKind::kConsole ? a.console : a.log) += r.text;
        return;
      }
      async_.push_back(std::move(r));
      return;
    default:
      async_.push_back(std::move(r));
      return;
  }
}

void MiClient::on_gdb_gone(const std::string& why) {
  if (failure_) return;
  Impl& im = *impl_;
  // gdb closed its output: it is exiting. Reap it (bounded) to say how it ended.
  std::string how = why.empty() ? "closed its output" : "broke its output (" + why + ")";
  if (!im.reaped) {
    for (int i = 0; i < 200; i++) {
      int status = 0;
      pid_t r = waitpid(im.child.id(), &status, WNOHANG);
      if (r == im.child.id()) {
        im.reaped = true;
        im.exit_status = status;
        im.child.detach();  // reaped here: boost must not wait for it again
        break;
      }
      if (r < 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (im.reaped) {
    if (WIFEXITED(im.exit_status)) {
      how = fmt::format("exited with status {}", WEXITSTATUS(im.exit_status));
    } else if (WIFSIGNALED(im.exit_status)) {
      how = fmt::format("was killed by signal {} ({})", WTERMSIG(im.exit_status), strsignal(WTERMSIG(im.exit_status)));
    }
  }
  // Drain what it wrote on stderr before it went.
  for (int i = 0; i < 20 && im.err.is_open(); i++) {
    if (im.io.stopped()) im.io.restart();
    if (im.io.poll() == 0) break;
  }
  std::string err = stderr_tail();
  size_t cut = err.rfind('\n', err.size() > 300 ? err.size() - 300 : 0);
  if (err.size() > 300) err = "..." + err.substr(cut == std::string::npos ? err.size() - 300 : cut + 1);
  failure_ = make_error(fmt::format("gdb (pid {}) {}{}", im.child.id(), how, err.empty() ? "" : ": " + err),
                        "gorepro cannot go on without gdb; the program was left running");
}

Error MiClient::gone_error(const std::string& command) const {
  Error e = *failure_;
  e.what = fmt::format("while gdb ran `{}`: {}", command, e.what);
  return e;
}

Result<uint64_t> MiClient::send(std::string_view cmd) {
  GOREPRO_CHECK(cmd.find_first_of("\r\n") == std::string_view::npos, "an MI command is one line");
  if (failure_) return gone_error(std::string(cmd));
  uint64_t token = next_token_++;
  Pending& p = pending_[token];
  p.command.assign(cmd);
  Impl& im = *impl_;
  im.writes.push_back(fmt::format("{}{}\n", token, cmd));
  if (im.log) fmt::print(im.log, "> {}", im.writes.back());
  if (im.writes.size() == 1) {
    struct Writer {
      static void next(MiClient* self) {
        Impl& im = *self->impl_;
        asio::async_write(im.in, asio::buffer(im.writes.front()),
                          [self](const boost::system::error_code& ec, size_t) {
                            Impl& im = *self->impl_;
                            if (ec) {
                              im.writes.clear();
                              self->on_gdb_gone("its input: " + ec.message());
                              return;
                            }
                            im.writes.pop_front();
                            if (!im.writes.empty()) next(self);
                          });
      }
    };
    Writer::next(this);
  }
  return token;
}

Status MiClient::send_nowait(std::string_view cmd) {
  auto token = send(cmd);
  if (!token) return token.error();
  pending_[*token].nowait = true;
  return Ok{};
}

std::vector<MiClient::NowaitError> MiClient::take_nowait_errors() {
  std::vector<NowaitError> out;
  out.swap(nowait_errors_);
  return out;
}

Result<MiAnswer> MiClient::wait(uint64_t token, Clock::time_point deadline) {
  auto pending = pending_.find(token);
  std::string cmd = pending != pending_.end() ? pending->second.command : std::string();
  GOREPRO_CHECK(pending != pending_.end() || answered_.count(token), "wait() for a token never sent or already collected");
  const auto started = Clock::now();
  run_until([&] { return answered_.count(token) > 0; }, deadline, false);
  auto it = answered_.find(token);
  if (it == answered_.end()) {
    if (failure_) {
      pending_.erase(token);
      return gone_error(cmd);
    }
    pending_.erase(token);
    abandoned_.insert(token);
    timeouts_++;
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    return make_error(fmt::format("gdb (pid {}) did not answer `{}` within {}", impl_->child.id(), cmd, seconds(waited)),
                      "gdb seems hung; gorepro stops it and detaches from the program");
  }
  MiAnswer answer = std::move(it->second.answer);
  cmd = std::move(it->second.command);
  answered_.erase(it);
  if (answer.result.klass == "error") {
    std::string msg(answer.result.error_message());
    return make_error(fmt::format("gdb refused `{}`: {}", cmd, msg.empty() ? "no message" : msg));
  }
  return answer;
}

Result<MiAnswer> MiClient::command(std::string_view cmd, std::optional<std::chrono::milliseconds> timeout) {
  auto token = send(cmd);
  if (!token) return token.error();
  return wait(*token, Clock::now() + timeout.value_or(default_timeout_));
}

std::optional<MiRecord> MiClient::next_async(Clock::time_point deadline) {
  run_until([&] { return !async_.empty(); }, deadline, true);
  if (async_.empty()) return std::nullopt;
  MiRecord r = std::move(async_.front());
  async_.pop_front();
  return r;
}

bool MiClient::overdue(std::chrono::milliseconds limit) const {
  // gdb answers in order: the oldest pending command is the one to look at.
  return !pending_.empty() && Clock::now() - pending_.begin()->second.sent > limit;
}

void MiClient::give_up(Error why) {
  if (!failure_) failure_ = std::move(why);
  kill();
}

void MiClient::interrupt_gdb() {
  if (!impl_->reaped) ::kill(impl_->child.id(), SIGINT);
}

void MiClient::kill() {
  Impl& im = *impl_;
  if (!im.reaped) {
    ::kill(im.child.id(), SIGKILL);
    int status = 0;
    if (waitpid(im.child.id(), &status, 0) == im.child.id()) {
      im.exit_status = status;
    }
    im.reaped = true;
    im.child.detach();
  }
  if (!failure_) {
    failure_ = make_error(fmt::format("gdb (pid {}) was stopped by gorepro", im.child.id()),
                          "gorepro cannot go on without gdb; the program was left running");
  }
}

}  // namespace gorepro::gdbmi
