#include "bpf/bpf_environment.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace gorepro::bpf {

namespace {

constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

// What the backend's BPF side uses, and the kernel that brought it: task storage from tracing
// programs (5.11), BPF cookies on uprobes (5.15), bpf_loop (5.17).
constexpr int kMinMajor = 5, kMinMinor = 17;

std::string path_in(const std::string& root, const char* p) {
  return (root == "/" ? std::string() : root) + p;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<int> read_int(const std::string& path) {
  auto s = read_file(path);
  if (!s) return std::nullopt;
  char* end = nullptr;
  long v = std::strtol(s->c_str(), &end, 10);
  if (end == s->c_str()) return std::nullopt;
  return static_cast<int>(v);
}

constexpr const char* kGrant =
    "run gorepro as root, or give it CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE "
    "(sudo setcap cap_bpf,cap_perfmon,cap_sys_ptrace+ep $(command -v gorepro)); or use --backend=ptrace";

}  // namespace

BpfEnvironment BpfEnvironment::gather(const std::string& root) {
  BpfEnvironment e;
  if (auto status = read_file(path_in(root, "/proc/self/status"))) {
    std::istringstream in(*status);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("CapEff:", 0) == 0) {
        e.cap_effective = std::strtoull(line.c_str() + 7, nullptr, 16);
        e.cap_known = true;
      }
    }
  }
  std::string release;
  if (root == "/") {
    utsname u{};
    if (uname(&u) == 0) release = u.release;
  } else if (auto r = read_file(path_in(root, "/proc/sys/kernel/osrelease"))) {
    release = r->substr(0, r->find('\n'));
  }
  e.kernel_release = release;
  if (std::sscanf(release.c_str(), "%d.%d", &e.kernel_major, &e.kernel_minor) != 2) e.kernel_major = e.kernel_minor = 0;
  e.unprivileged_bpf_disabled = read_int(path_in(root, "/proc/sys/kernel/unprivileged_bpf_disabled"));
  e.perf_event_paranoid = read_int(path_in(root, "/proc/sys/kernel/perf_event_paranoid"));
  if (auto l = read_file(path_in(root, "/sys/kernel/security/lockdown"))) {
    // "none [integrity] confidentiality": the bracketed word is the mode.
    auto open = l->find('['), close = l->find(']');
    if (open != std::string::npos && close > open) e.lockdown = l->substr(open + 1, close - open - 1);
  }
  std::error_code ec;
  e.btf = std::filesystem::exists(path_in(root, "/sys/kernel/btf/vmlinux"), ec);
  e.uprobes = std::filesystem::exists(path_in(root, "/sys/bus/event_source/devices/uprobe/type"), ec) ||
              std::filesystem::exists(path_in(root, "/sys/kernel/tracing/uprobe_events"), ec) ||
              std::filesystem::exists(path_in(root, "/sys/kernel/debug/tracing/uprobe_events"), ec);
  if (root == "/") {
    rlimit rl{};
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) e.memlock_bytes = rl.rlim_cur;
  } else if (auto v = read_file(path_in(root, "/proc/self/limits"))) {
    std::istringstream in(*v);
    for (std::string line; std::getline(in, line);) {
      unsigned long long soft = 0;
      if (line.rfind("Max locked memory", 0) == 0 && std::sscanf(line.c_str() + 17, "%llu", &soft) == 1) {
        e.memlock_bytes = soft;
      }
    }
  }
  return e;
}

bool BpfEnvironment::privileged() const {
  if (!cap_known) return geteuid() == 0;
  return has_cap(kCapSysAdmin) || (has_cap(kCapBpf) && has_cap(kCapPerfmon));
}

bool BpfEnvironment::kernel_at_least(int major, int minor) const {
  if (kernel_major == 0) return true;  // unknown: do not blame the version
  return kernel_major > major || (kernel_major == major && kernel_minor >= minor);
}

Status BpfEnvironment::check() const {
  if (!privileged()) {
    std::string why = "the ebpf backend needs root or CAP_BPF and CAP_PERFMON";
    if (unprivileged_bpf_disabled && *unprivileged_bpf_disabled != 0) {
      why += fmt::format(" (kernel.unprivileged_bpf_disabled={}: unprivileged BPF is off)", *unprivileged_bpf_disabled);
    }
    return make_error(why, kGrant);
  }
  if (!uprobes) {
    return make_error(fmt::format("this kernel ({}) has no uprobes (CONFIG_UPROBE_EVENTS)", kernel_release),
                      "use --backend=ptrace, or a kernel built with uprobes");
  }
  if (!btf) {
    return make_error(fmt::format("this kernel ({}) has no BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF), "
                                  "which the ebpf backend's per-thread storage needs", kernel_release),
                      "use --backend=ptrace, or a kernel built with BTF");
  }
  if (!kernel_at_least(kMinMajor, kMinMinor)) {
    return make_error(fmt::format("kernel {} is older than {}.{}, the first with everything the ebpf backend uses "
                                  "(BPF cookies on uprobes, bpf_loop)", kernel_release, kMinMajor, kMinMinor),
                      "use --backend=ptrace");
  }
  return Ok{};
}

Error BpfEnvironment::explain(const std::string& what, int err, uint64_t ring_bytes) const {
  std::string failed = fmt::format("{} failed: {}", what, std::strerror(err));
  if (err == EPERM || err == EACCES) {
    if (!privileged()) return make_error(failed + " (not root, no CAP_BPF/CAP_PERFMON)", kGrant);
    if (lockdown == "confidentiality" || lockdown == "integrity") {
      return make_error(failed + fmt::format(" (the kernel is locked down: {})", lockdown),
                        "lockdown (e.g. Secure Boot) forbids BPF tracing; use --backend=ptrace, "
                        "or boot with lockdown=none where that is allowed");
    }
    // Before memory-cgroup accounting (5.11), BPF maps count against RLIMIT_MEMLOCK.
    if (!kernel_at_least(5, 11) && memlock_bytes && (ring_bytes == 0 || *memlock_bytes < ring_bytes + (1u << 20))) {
      return make_error(failed + fmt::format(" (locked memory is limited to {} KiB; the ring buffer alone needs {} KiB)",
                                             *memlock_bytes / 1024, ring_bytes / 1024),
                        "raise the limit (ulimit -l unlimited, or LimitMEMLOCK=infinity for a service)");
    }
    if (perf_event_paranoid && *perf_event_paranoid > 2 && !has_cap(kCapSysAdmin)) {
      return make_error(failed + fmt::format(" (kernel.perf_event_paranoid={})", *perf_event_paranoid),
                        "run gorepro as root, or lower it: sysctl kernel.perf_event_paranoid=2");
    }
  }
  if (err == ENOMEM && memlock_bytes && !kernel_at_least(5, 11)) {
    return make_error(failed + fmt::format(" (locked memory is limited to {} KiB)", *memlock_bytes / 1024),
                      "raise the limit (ulimit -l unlimited, or LimitMEMLOCK=infinity for a service)");
  }
  if (err == ENOENT || err == EOPNOTSUPP || err == EINVAL) {
    if (!uprobes) return make_error(failed + " (this kernel has no uprobes)", "use --backend=ptrace");
    if (!btf) return make_error(failed + " (this kernel has no BTF)", "use --backend=ptrace");
  }
  return make_error(failed, "run with --backend=ptrace; the message above says what the kernel refused");
}

}  // namespace gorepro::bpf
