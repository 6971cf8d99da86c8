// `gorepro record --metrics HOST:PORT` while recording attachtarget (8 goroutines parked at its
// `// want leak: 8` go statement, then 4 s of work): the page is Prometheus text a plain HTTP
// client can read, and a real Prometheus (Debian's, when installed) scraping it every second
// holds, for the leaking go statement, the count `gorepro report` gives for the end instant —
// and the mark says. The server's code is the same whichever backend records: ptrace only.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "support/background.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::run;

// A port nobody listens on now (the kernel's choice; free again once closed).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Http {
  int status = 0;  // 0: no answer
  std::string body;
};

Http http_get(int port, const std::string& path) {
  Http h;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return h;
  }
  std::string req = fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  (void)!write(fd, req.data(), req.size());
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  close(fd);
  if (all.rfind("HTTP/1.", 0) != 0 || all.size() < 12) return h;
  h.status = std::atoi(all.c_str() + 9);
  size_t body = all.find("\r\n\r\n");
  if (body != std::string::npos) h.body = all.substr(body + 4);
  return h;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

struct Leak {
  std::string site;  // "main.go:30"
  int line = 0;
  int count = 0;
};

Leak attachtarget_leak() {
  auto marks = testing::read_leak_marks(testing::go_source_dir("tests/go/attachtarget"));
  EXPECT_EQ(marks.size(), 1u);
  Leak l;
  if (marks.empty()) return l;
  l.line = marks[0].line;
  l.count = marks[0].count;
  l.site = fmt::format("{}:{}", fs::path(marks[0].file).filename().string(), l.line);
  return l;
}

// Goroutines `gorepro report` gives as alive (waiting) at the end of the trace at that line.
int reported_waiting(const std::string& trace, int line) {
  auto r = run({testing::gorepro_binary(), "report", trace, "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return -1;
  int n = 0;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  for (const auto& g : report.at("groups")) {
    if (g["creation_site"].value("line", 0) == line && g.value("state", "") == "waiting") n += g.value("alive", 0);
  }
  return n;
}

// gorepro record --metrics in the background, recording attachtarget until it is done.
std::unique_ptr<testing::Background> record_with_metrics(int port, const std::string& trace, const char* work) {
  auto bg = std::make_unique<testing::Background>(std::vector<std::string>{
      testing::gorepro_binary(), "record", "-q", "-o", trace, "--metrics", fmt::format("127.0.0.1:{}", port), "--",
      testing::go_program("attachtarget", testing::newest_go_version(), false), "-work", work});
  for (std::string line; (line = bg->read_line()).size();) {
    if (line.rfind("ready", 0) == 0) break;
  }
  return bg;
}

TEST(RecordMetrics, PlainHttpClientReadsPrometheusTextWithTheLeakingGoStatement) {
  const Leak leak = attachtarget_leak();
  const int port = free_port();
  const std::string trace = testing::scratch_file("metrics", "plain.gtr");
  auto bg = record_with_metrics(port, trace, "1.5s");
  // The 8 are parked before "ready"; the page is refreshed within 200 ms.
  const std::regex series(fmt::format(R"re(gorepro_goroutines\{{go_statement="{}",function="main\.main",start_function="[^"]+",state="waiting",wait_reason="chan receive"\}} (\d+))re",
                                      std::regex_replace(leak.site, std::regex(R"(\.)"), R"(\.)")));
  Http page;
  std::smatch m;
  for (int i = 0; i < 50; i++) {
    Http p = http_get(port, "/metrics");
    if (p.status == 0) break;  // gorepro is done
    page = p;
    if (page.status == 200 && std::regex_search(page.body, m, series) && std::stoi(m[1]) == leak.count) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(page.status, 200);
  ASSERT_TRUE(std::regex_search(page.body, m, series)) << page.body;
  EXPECT_EQ(std::stoi(m[1]), leak.count) << page.body;
  // Every line is a comment or `name{labels} value` (the text format), and the totals are there.
  const std::regex sample(R"re(^[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? -?[0-9.e+]+$)re");
  std::istringstream lines(page.body);
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("# HELP ", 0) == 0 || l.rfind("# TYPE ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(l, sample)) << l;
  }
  for (const char* name : {"gorepro_events_total ", "gorepro_events_per_second ", "gorepro_events_lost_total ",
                           "gorepro_trace_bytes ", "gorepro_live_goroutines ", "gorepro_goroutines_created_total{"}) {
    EXPECT_NE(page.body.find(fmt::format("\n{}", name)), std::string::npos) << name;
  }
  EXPECT_EQ(http_get(port, "/other").status, 404);
  std::string out;
  EXPECT_EQ(bg->wait(&out), 0);
  EXPECT_EQ(reported_waiting(trace, leak.line), leak.count);
}

TEST(RecordMetrics, AnAddressThatCannotBeServedIsRefusedBeforeTheProgramRuns) {
  auto r = run({testing::gorepro_binary(), "record", "--metrics", "localhost-9464", "--",
                testing::go_program("attachtarget", testing::newest_go_version(), false)});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot serve metrics on 'localhost-9464'"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("ready"), std::string::npos) << "the program ran";
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(RecordMetrics, PrometheusScrapingItHoldsTheCountReportGivesForTheEnd) {
  const char* prometheus = "/usr/bin/prometheus";
  if (access(prometheus, X_OK) != 0) GTEST_SKIP() << "Debian's prometheus is not installed (scripts/setup.sh adds it)";
  const Leak leak = attachtarget_leak();
  const int port = free_port(), prom_port = free_port();
  const std::string dir = testing::scratch_file("metrics", "prometheus");
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/prometheus.yml") << fmt::format(
      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: gorepro\n"
      "    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
      port);
  testing::Background prom({"/bin/sh", "-c",
                            fmt::format("exec {} --config.file={}/prometheus.yml --storage.tsdb.path={}/data "
                                        "--web.listen-address=127.0.0.1:{} 2>{}/prometheus.log",
                                        prometheus, dir, dir, prom_port, dir)});
  bool ready = false;
  for (int i = 0; i < 100 && !ready; i++) {
    ready = http_get(prom_port, "/-/ready").status == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << "prometheus did not start; see " << dir << "/prometheus.log";
  const std::string trace = testing::scratch_file("metrics", "prometheus.gtr");
  // Prometheus 2.x applies discovered targets every 5 s: the first scrape comes ~5 s after its start.
  auto bg = record_with_metrics(port, trace, "9s");
  std::string out;
  ASSERT_EQ(bg->wait(&out), 0);
  const std::string query = fmt::format(
      "last_over_time(gorepro_goroutines{{go_statement=\"{}\",state=\"waiting\",wait_reason=\"chan receive\"}}[5m])",
      leak.site);
  auto answer = http_get(prom_port, "/api/v1/query?query=" + url_encode(query));
  ASSERT_EQ(answer.status, 200) << answer.body;
  auto j = nlohmann::json::parse(answer.body);
  ASSERT_EQ(j["data"]["result"].size(), 1u)
      << answer.body << "; up: " << http_get(prom_port, "/api/v1/query?query=" + url_encode("up[5m]")).body;
  const int scraped = std::stoi(j["data"]["result"][0]["value"][1].get<std::string>());
  EXPECT_EQ(scraped, reported_waiting(trace, leak.line)) << answer.body;
  EXPECT_EQ(scraped, leak.count);
}

}  // namespace
}  // namespace gorepro
