#include "verdict/wait_detail.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "replay/duration.h"

namespace gorepro::verdict {

namespace {

// "0100007F:0FA0" (IPv4) or 32 hex digits of four little-endian words (IPv6) and a port, as
// /proc/net/tcp{,6} print them.
std::string proc_net_address(const std::string& hex) {
  const size_t colon = hex.find(':');
  if (colon == std::string::npos) return hex;
  const std::string ip = hex.substr(0, colon);
  const unsigned port = static_cast<unsigned>(std::stoul(hex.substr(colon + 1), nullptr, 16));
  std::vector<uint8_t> bytes;
  for (size_t word = 0; word + 8 <= ip.size(); word += 8) {
    const uint32_t w = static_cast<uint32_t>(std::stoul(ip.substr(word, 8), nullptr, 16));
    for (int b = 0; b < 4; b++) bytes.push_back(static_cast<uint8_t>(w >> (8 * b)));
  }
  if (bytes.size() == 4) return fmt::format("{}.{}.{}.{}:{}", bytes[0], bytes[1], bytes[2], bytes[3], port);
  if (bytes.size() == 16) {
    if (std::all_of(bytes.begin(), bytes.begin() + 10, [](uint8_t b) { return b == 0; }) && bytes[10] == 0xff &&
        bytes[11] == 0xff) {  // an IPv4-mapped address
      return fmt::format("{}.{}.{}.{}:{}", bytes[12], bytes[13], bytes[14], bytes[15], port);
    }
    std::string s;
    for (int i = 0; i < 16; i += 2) s += fmt::format("{}{:x}", i ? ":" : "", bytes[i] << 8 | bytes[i + 1]);
    return fmt::format("[{}]:{}", s, port);
  }
  return hex;
}

// What a socket inode is, from the process's view of /proc/net/tcp and tcp6: "TCP
// 127.0.0.1:4000, listening" or "TCP 127.0.0.1:51234 → 127.0.0.1:4000". "" when not TCP.
std::string tcp_socket(pid_t pid, const std::string& inode) {
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in(fmt::format("/proc/{}/net/{}", pid, table));
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, ino;
      if (!(f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> ino)) continue;
      if (ino != inode) continue;
      try {
        if (state == "0A") return fmt::format("TCP {}, listening", proc_net_address(local));
        return fmt::format("TCP {} → {}", proc_net_address(local), proc_net_address(remote));
      } catch (const std::exception&) {
        return "TCP";
      }
    }
  }
  return "";
}

// What file descriptor fd of process pid is: a TCP socket's addresses, else the target of its
// /proc link ("pipe:[1234]", "/var/log/app.log"); "" when it cannot be read.
std::string describe_fd(pid_t pid, uint64_t fd) {
  std::array<char, 4096> buf{};
  const ssize_t n = readlink(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  const std::string target(buf.data(), static_cast<size_t>(n));
  if (target.rfind("socket:[", 0) == 0 && target.back() == ']') {
    if (std::string tcp = tcp_socket(pid, target.substr(8, target.size() - 9)); !tcp.empty()) return tcp;
  }
  return target;
}

}  // namespace

WaitDetail::WaitDetail(const GoBinary& binary, const TargetMemory& memory, uint64_t load_bias, uint64_t now_ns)
    : binary_(binary), l_(binary.layout()), mem_(memory), bias_(load_bias), now_(static_cast<int64_t>(now_ns)) {}

int64_t WaitDetail::off(const char* key) const { return l_.offset(key).value_or(-1); }

std::string WaitDetail::due(int64_t when) const {
  if (when >= now_) return "due in " + replay::format_duration(static_cast<uint64_t>(when - now_));
  return "due " + replay::format_duration(static_cast<uint64_t>(now_ - when)) + " ago";
}

std::string WaitDetail::sleep(uint64_t g) const {
  int64_t when = 0;
  if (const int64_t sw = off("g.sleepWhen"); sw >= 0) {
    if (!mem_.read(g + static_cast<uint64_t>(sw), &when, 8)) return "";
  } else {
    const int64_t gt = off("g.timer"), nw = off("timer.nextwhen");
    uint64_t t = 0;
    if (gt < 0 || nw < 0 || !mem_.read_u64(g + static_cast<uint64_t>(gt), &t) || !t ||
        !mem_.read(t + static_cast<uint64_t>(nw), &when, 8)) {
      return "";
    }
  }
  return when > 0 ? due(when) : "";
}

std::vector<uint64_t> WaitDetail::stack_pointers(uint64_t sp, uint64_t stack_hi, std::vector<uint64_t>* all) const {
  std::vector<uint64_t> cand;
  if (sp == 0 || sp >= stack_hi || stack_hi - sp > (64u << 20)) return cand;
  all->assign((stack_hi - sp) / 8, 0);
  if (all->empty() || !mem_.read(sp, all->data(), all->size() * 8)) return cand;
  std::sort(all->begin(), all->end());
  for (uint64_t w : *all) {
    if (w >= 4096 && w % 8 == 0 && (w < sp || w >= stack_hi) && (cand.empty() || cand.back() != w)) cand.push_back(w);
  }
  return cand;
}

uint64_t WaitDetail::cond_of(uint64_t g, uint64_t waiting, uint64_t sp, uint64_t stack_hi) const {
  const int64_t elem = off("sudog.elem"), sg = off("sudog.g"), next = off("sudog.next"), notify = off("Cond.notify"),
                head = off("notifyList.head");
  if (!g || sg < 0 || next < 0) return 0;
  uint64_t v = 0;
  if (waiting && elem >= 0 && mem_.read_u64(waiting + static_cast<uint64_t>(sg), &v) && v == g &&
      mem_.read_u64(waiting + static_cast<uint64_t>(elem), &v) && v) {
    return v;  // Go 1.26+: the sudog's elem is the notify list
  }
  if (notify < 0 || head < 0) return 0;
  std::vector<uint64_t> all;
  const std::vector<uint64_t> cand = stack_pointers(sp, stack_hi, &all);
  std::vector<uint64_t> heads(cand.size());
  std::vector<ReadRange> ranges;
  for (size_t i = 0; i < cand.size(); i++) {
    ranges.push_back({cand[i] + static_cast<uint64_t>(notify + head), &heads[i], 8});
  }
  mem_.read_many(ranges);
  for (size_t i = 0; i < cand.size(); i++) {
    uint64_t s = heads[i];
    for (int n = 0; s && n < 100'000; n++) {  // the list's sudogs, in line
      if (!mem_.read_u64(s + static_cast<uint64_t>(sg), &v)) break;
      if (v == g) return cand[i] + static_cast<uint64_t>(notify);
      if (!mem_.read_u64(s + static_cast<uint64_t>(next), &s)) break;
    }
  }
  return 0;
}

std::string WaitDetail::io(uint64_t g, uint64_t sp, uint64_t stack_hi) const {
  const int64_t rg = off("pollDesc.rg"), wg = off("pollDesc.wg"), fd_off = off("pollDesc.fd");
  if (rg < 0 || wg < 0 || fd_off < 0 || !g) return "";
  std::vector<uint64_t> sorted;
  const std::vector<uint64_t> cand = stack_pointers(sp, stack_hi, &sorted);
  auto on_stack = [&](uint64_t v) { return std::binary_search(sorted.begin(), sorted.end(), v); };
  std::vector<uint64_t> vals(cand.size());
  std::vector<ReadRange> ranges;
  for (size_t i = 0; i < cand.size(); i++) ranges.push_back({cand[i], &vals[i], 8});
  mem_.read_many(ranges);
  for (size_t i = 0; i < cand.size(); i++) {
    if (vals[i] != g) continue;
    for (auto [field, mode] : {std::pair{rg, "read"}, std::pair{wg, "write"}}) {
      const uint64_t pd = cand[i] - static_cast<uint64_t>(field);
      uint64_t fd = 0;
      if (!on_stack(pd) || !mem_.read_u64(pd + static_cast<uint64_t>(fd_off), &fd) || fd > (1u << 30)) continue;
      std::string what = describe_fd(mem_.pid(), fd);
      return fmt::format("fd {} ({}){}{}", fd, mode, what.empty() ? "" : ": ", what);
    }
  }
  return "";
}

void WaitDetail::index_heap_timers() {
  heap_indexed_ = true;
  const int64_t pt = off("p.timers"), arg = off("timer.arg"), when = off("timer.when"), next = off("timer.nextwhen"),
                status = off("timer.status"), heap = off("timers.heap"), tw_timer = off("timerWhen.timer"),
                tw_when = off("timerWhen.when");
  const auto waiting = l_.constant("timerWaiting"), earlier = l_.constant("timerModifiedEarlier"),
             later = l_.constant("timerModifiedLater");
  // Go 1.23+: p.timers.heap, a []timerWhen whose entries are two words (timer, when); a
  // timer is pending while its own when is not 0 (stop clears it). Up to 1.22: p.timers, a
  // []*timer, pending in state waiting (when) or modified (nextwhen).
  const bool v123 = heap >= 0 && tw_timer >= 0 && tw_when >= 0;
  const auto allp = binary_.allp_address();
  if (pt < 0 || arg < 0 || when < 0 || !allp) return;
  if (!v123 && (next < 0 || status < 0 || !waiting || !earlier || !later)) return;
  const uint64_t heap_at = static_cast<uint64_t>(pt + (v123 ? heap : 0));
  const uint64_t stride = v123 ? static_cast<uint64_t>(std::max(tw_timer, tw_when) + 8) : 8;
  uint64_t slice[2] = {0, 0};
  if (!mem_.read(*allp + bias_, slice, 16) || slice[1] > 100'000) return;
  std::vector<uint64_t> ps(slice[1]);
  if (ps.empty() || !mem_.read(slice[0], ps.data(), ps.size() * 8)) return;
  const size_t tlen = static_cast<size_t>(std::max({arg + 16, when + 8, next + 8, status + 4}));
  std::vector<uint8_t> t(tlen), entries;
  for (uint64_t p : ps) {
    uint64_t h[2] = {0, 0};  // the heap slice: data, len
    if (!p || !mem_.read(p + heap_at, h, 16) || h[1] == 0 || h[1] > 10'000'000) continue;
    entries.resize(h[1] * stride);
    if (!mem_.read(h[0], entries.data(), entries.size())) continue;
    for (uint64_t k = 0; k < h[1]; k++) {
      uint64_t tp = 0;
      std::memcpy(&tp, entries.data() + k * stride + (v123 ? tw_timer : 0), 8);
      if (!tp || !mem_.read(tp, t.data(), tlen)) continue;
      uint64_t c = 0;
      int64_t w = 0;
      std::memcpy(&c, t.data() + arg + 8, 8);  // arg is an `any`: its data word
      std::memcpy(&w, t.data() + when, 8);
      if (!v123) {
        uint32_t st = 0;
        std::memcpy(&st, t.data() + status, 4);
        if (st == static_cast<uint32_t>(*earlier) || st == static_cast<uint32_t>(*later)) {
          std::memcpy(&w, t.data() + next, 8);
        } else if (st != static_cast<uint32_t>(*waiting)) {
          continue;  // deleted, removed, running: not a pending firing
        }
      }
      if (c && w > 0) {
        auto [it, fresh] = heap_timers_.emplace(c, w);
        if (!fresh) it->second = std::min(it->second, w);
      }
    }
  }
}

std::optional<int64_t> WaitDetail::timer_due(uint64_t c) {
  if (const int64_t ht = off("hchan.timer"); ht >= 0) {
    uint64_t t = 0;
    int64_t when = 0;
    const int64_t w = off("timer.when");
    if (w >= 0 && mem_.read_u64(c + static_cast<uint64_t>(ht), &t) && t) {
      if (!mem_.read(t + static_cast<uint64_t>(w), &when, 8) || when <= 0) return std::nullopt;
      return when;
    }
  }
  if (!heap_indexed_) index_heap_timers();
  auto it = heap_timers_.find(c);
  if (it == heap_timers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace gorepro::verdict
