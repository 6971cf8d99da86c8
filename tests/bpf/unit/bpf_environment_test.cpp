// BpfEnvironment: the one-line reasons the ebpf backend gives when a machine cannot run it,
// reasoned from /proc and /sys as the kernel shows them. Each test writes the few files a
// machine of that kind has into a directory and gathers from there; the real machine's answer
// is checked by EbpfErrors in ebpf_e2e_test (capabilities really dropped).
#include <gtest/gtest.h>

#include <errno.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bpf/bpf_environment.h"

namespace gorepro::bpf {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAllCaps = "000001ffffffffff";

// A machine in a directory: a recent kernel with BTF and uprobes, root with every capability,
// unless a test changes a file.
class Machine {
 public:
  Machine() {
    root_ = fs::temp_directory_path() / ("gorepro-bpfenv-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    write("proc/self/status", std::string("Name:\tgorepro\nCapEff:\t") + kAllCaps + "\n");
    write("proc/sys/kernel/osrelease", "6.8.0-31-generic\n");
    write("proc/sys/kernel/unprivileged_bpf_disabled", "2\n");
    write("proc/sys/kernel/perf_event_paranoid", "2\n");
    write("proc/self/limits", "Max locked memory         8388608              8388608              bytes\n");
    write("sys/kernel/btf/vmlinux", "");
    write("sys/bus/event_source/devices/uprobe/type", "8\n");
    write("sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
  }
  ~Machine() { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  void remove(const std::string& rel) { fs::remove(root_ / rel); }
  BpfEnvironment gather() const { return BpfEnvironment::gather(root_.string()); }

 private:
  fs::path root_;
};

std::string message(const Status& s) { return s ? "" : s.error().message(); }

TEST(BpfEnvironment, AWellEquippedMachineHasNothingAgainstIt) {
  Machine m;
  BpfEnvironment e = m.gather();
  EXPECT_TRUE(e.privileged());
  EXPECT_EQ(e.kernel_major, 6);
  EXPECT_EQ(e.kernel_minor, 8);
  EXPECT_EQ(e.lockdown, "none");
  EXPECT_EQ(e.memlock_bytes, 8388608u);
  EXPECT_EQ(message(e.check()), "");
}

TEST(BpfEnvironment, WithoutCapabilitiesSaysWhichToGrantAndNamesTheSysctl) {
  Machine m;
  m.write("proc/self/status", "CapEff:\t0000000000000000\n");
  std::string msg = message(m.gather().check());
  EXPECT_NE(msg.find("needs root or CAP_BPF and CAP_PERFMON"), std::string::npos) << msg;
  EXPECT_NE(msg.find("kernel.unprivileged_bpf_disabled=2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("setcap cap_bpf,cap_perfmon,cap_sys_ptrace+ep"), std::string::npos) << msg;
  // CAP_BPF alone is not enough for tracing programs; with CAP_PERFMON it is.
  m.write("proc/self/status", "CapEff:\t0000008000000000\n");  // bit 39
  EXPECT_FALSE(m.gather().check());
  m.write("proc/self/status", "CapEff:\t000000c000000000\n");  // bits 38, 39
  EXPECT_EQ(message(m.gather().check()), "");
}

TEST(BpfEnvironment, AKernelWithoutUprobesOrBtfOrTooOldIsNamed) {
  {
    Machine m;
    m.remove("sys/bus/event_source/devices/uprobe/type");
    EXPECT_NE(message(m.gather().check()).find("has no uprobes (CONFIG_UPROBE_EVENTS)"), std::string::npos);
  }
  {
    Machine m;
    m.remove("sys/kernel/btf/vmlinux");
    EXPECT_NE(message(m.gather().check()).find("has no BTF"), std::string::npos);
  }
  {
    Machine m;
    m.write("proc/sys/kernel/osrelease", "5.10.0-28-amd64\n");
    std::string msg = message(m.gather().check());
    EXPECT_NE(msg.find("kernel 5.10.0-28-amd64 is older than 5.17"), std::string::npos) << msg;
  }
}

TEST(BpfEnvironment, ARefusalIsExplainedByLockdownOrLockedMemory) {
  {
    Machine m;
    m.write("sys/kernel/security/lockdown", "none integrity [confidentiality]\n");
    Error e = m.gather().explain("loading gorepro's BPF programs", EPERM);
    EXPECT_NE(e.what.find("locked down: confidentiality"), std::string::npos) << e.message();
    EXPECT_NE(e.hint.find("--backend=ptrace"), std::string::npos) << e.message();
  }
  {
    // Before 5.11 BPF memory counts against RLIMIT_MEMLOCK: 64 KiB cannot hold a 16 MiB ring.
    Machine m;
    m.write("proc/sys/kernel/osrelease", "5.4.0-150-generic\n");
    m.write("proc/self/limits", "Max locked memory         65536                65536                bytes\n");
    Error e = m.gather().explain("loading gorepro's BPF programs", EPERM, 16u << 20);
    EXPECT_NE(e.what.find("locked memory is limited to 64 KiB"), std::string::npos) << e.message();
    EXPECT_NE(e.hint.find("ulimit -l unlimited"), std::string::npos) << e.message();
  }
  {
    // Since 5.11 it does not: the same limit is not blamed.
    Machine m;
    m.write("proc/self/limits", "Max locked memory         65536                65536                bytes\n");
    Error e = m.gather().explain("loading gorepro's BPF programs", EPERM, 16u << 20);
    EXPECT_EQ(e.what.find("locked memory"), std::string::npos) << e.message();
  }
}

TEST(BpfEnvironment, UnknownFactsAreNeverBlamed) {
  Machine m;
  m.remove("proc/sys/kernel/osrelease");
  m.remove("sys/kernel/security/lockdown");
  m.remove("proc/self/limits");
  BpfEnvironment e = m.gather();
  EXPECT_EQ(e.kernel_major, 0);
  EXPECT_EQ(message(e.check()), "");
  Error err = e.explain("attaching a uprobe", EPERM);
  EXPECT_EQ(err.what.find("locked"), std::string::npos) << err.message();
}

}  // namespace
}  // namespace gorepro::bpf
