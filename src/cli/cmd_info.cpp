// gorepro info BINARY: what gorepro sees in a Go binary — version, probes, layout, registers.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "dwarf/go_binary.h"

namespace gorepro::cli {

namespace {

struct InfoOptions {
  std::string binary;
  std::string format = "text";
};

nlohmann::json info_json(const GoBinary& b) {
  const RuntimeLayout& l = b.layout();
  nlohmann::json j;
  j["binary"] = b.path();
  j["go_version"] = b.go_version();
  j["version_source"] = b.build_info().version_source;
  j["module"] = b.build_info().module_path;
  j["build_id"] = b.build_id();
  j["dwarf"] = b.has_dwarf();
  j["symtab"] = b.has_symtab();
  j["layout_source"] = to_string(l.source);
  if (l.source == LayoutSource::kTable) j["layout_table_generated_from"] = l.table_generated_from;
  nlohmann::json probes = nlohmann::json::array();
  for (const Probe& p : b.probes()) {
    nlohmann::json sites = nlohmann::json::array();
    for (const Instruction& in : p.insns) {
      sites.push_back({{"address", in.address}, {"length", in.length}, {"instruction", in.text}});
    }
    probes.push_back({{"role", p.role}, {"function", p.function.name}, {"entry", p.function.entry},
                      {"end", p.function.end}, {"at", to_string(p.at)}, {"sites", sites},
                      {"past_stack_check", p.past_stack_check}});
  }
  j["probes"] = probes;
  j["layout"] = l.to_json();
  return j;
}

void print_text(const GoBinary& b) {
  const RuntimeLayout& l = b.layout();
  const std::string src = to_string(l.source);
  fmt::print("binary:      {}\n", b.path());
  fmt::print("go version:  {}{}\n", b.go_version(),
             b.build_info().version_source == "build info" ? "" : " (from " + b.build_info().version_source + ")");
  fmt::print("module:      {}\n", b.build_info().module_path.empty() ? "(none)" : b.build_info().module_path);
  fmt::print("build id:    {}\n", b.build_id().empty() ? "(none)" : b.build_id());
  fmt::print("dwarf:       {}\n", b.has_dwarf() ? "yes" : "no (stripped)");
  fmt::print("layout from: {}\n", l.source == LayoutSource::kDwarf
                                      ? std::string("DWARF")
                                      : fmt::format("built-in table (generated from {})", l.table_generated_from));
  fmt::print("\nprobes:\n");
  for (const Probe& p : b.probes()) {
    fmt::print("  {:<8} {:<20} {:#x}-{:#x}  {}", p.role, p.function.name, p.function.entry, p.function.end,
               to_string(p.at));
    if (p.at != ProbeAt::kEntry) {
      fmt::print(" ({} {} site{}):", p.addresses.size(), p.at == ProbeAt::kReturn      ? "RET"
                 : p.at == ProbeAt::kAfterCall ? "return-from-call"
                 : p.at == ProbeAt::kBeforeCall ? "before-call"
                                               : "load",
                 p.addresses.size() == 1 ? "" : "s");
      for (uint64_t a : p.addresses) fmt::print(" {:#x}", a);
      fmt::print("\n");
    } else {
      fmt::print("{}: {:#x}  {} ({} bytes)\n", p.past_stack_check ? " past the stack check" : "", p.addresses[0],
                 p.insns[0].text, p.insns[0].length);
    }
  }
  fmt::print("\nstruct offsets:\n");
  for (const auto& [k, v] : l.offsets) fmt::print("  {:<20} {:>5}  {}\n", k, v, src);
  fmt::print("\nargument registers:\n");
  for (const auto& [fn, params] : l.args) {
    std::string in, out;
    for (const ArgLocation& a : params) {
      std::string where = a.on_stack ? "stack" : fmt::format("{}", fmt::join(a.regs, "+"));
      (a.result ? out : in) += fmt::format("{}{}={}", (a.result ? out : in).empty() ? "" : " ", a.name, where);
    }
    fmt::print("  {:<20} {}{}\n", fn, in.empty() ? "(none)" : in, out.empty() ? "" : " -> " + out);
  }
  fmt::print("\ngoroutine states:");
  for (const auto& [k, v] : l.constants) fmt::print(" {}={}", k, v);
  fmt::print("\nwait reasons ({}, from {}):\n", l.wait_reasons.size(), src);
  for (size_t i = 0; i < l.wait_reasons.size(); i++) {
    if (!l.wait_reasons[i].empty()) fmt::print("  {:>3} {}\n", i, l.wait_reasons[i]);
  }
}

}  // namespace

void add_info_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Show what gorepro finds in a Go binary: version, probes, runtime layout, argument registers");
  cmd->add_option("binary", opts->binary, "Path of the Go executable")->required();
  cmd->add_option("--format", opts->format, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->callback([opts, &exit_code] {
    auto b = GoBinary::open(opts->binary);
    if (!b) {
      exit_code = fail(b.error(), 1);
      return;
    }
    if (!(*b)->warning().empty()) fmt::print(stderr, "gorepro: warning: {}\n", (*b)->warning());
    if (opts->format == "json") {
      fmt::print("{}\n", info_json(**b).dump(2));
    } else {
      print_text(**b);
    }
    exit_code = 0;
  });
}

}  // namespace gorepro::cli
