// pprof: a goroutine profile in profile.proto, as `go tool pprof` expects a Go program's own
// (sample type goroutine/count), gzip-compressed. Locations are the trace's PCs with the
// frames (inlined ones too) the traced binary's symbols give them, so pprof needs no binary.
#include "export/pprof_export.h"

#include <zlib.h>

#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "profile.pb.h"

namespace gorepro::exporting {
namespace {

namespace pb = perftools::profiles;

class ProfileBuilder {
 public:
  explicit ProfileBuilder(const replay::TraceSymbols& symbols) : symbols_(symbols) { string_id(""); }

  int64_t string_id(const std::string& s) {
    auto [it, inserted] = strings_.try_emplace(s, static_cast<int64_t>(strings_.size()));
    if (inserted) profile_.add_string_table(s);
    return it->second;
  }

  uint64_t function_id(const SourceFrame& f) {
    auto [it, inserted] = functions_.try_emplace({f.function, f.file}, profile_.function_size() + 1);
    if (inserted) {
      pb::Function* fn = profile_.add_function();
      fn->set_id(it->second);
      fn->set_name(string_id(f.function));
      fn->set_system_name(fn->name());
      fn->set_filename(string_id(f.file));
    }
    return it->second;
  }

  // A PC of the binary: one location, its lines innermost first.
  uint64_t location_id(uint64_t pc, bool exact) {
    auto [it, inserted] = locations_.try_emplace({pc, exact}, profile_.location_size() + 1);
    if (inserted) {
      pb::Location* loc = profile_.add_location();
      loc->set_id(it->second);
      loc->set_mapping_id(1);
      loc->set_address(pc);
      for (const SourceFrame& f : symbols_.frames(std::span<const uint64_t>(&pc, 1), exact)) {
        pb::Line* line = loc->add_line();
        line->set_function_id(function_id(f));
        line->set_line(f.line);
      }
    }
    return it->second;
  }

  // A pseudo-frame ("[running]"): a location with no address, in no mapping.
  uint64_t pseudo_location_id(const std::string& name) {
    auto [it, inserted] = pseudo_.try_emplace(name, profile_.location_size() + 1);
    if (inserted) {
      pb::Location* loc = profile_.add_location();
      loc->set_id(it->second);
      loc->add_line()->set_function_id(function_id(SourceFrame{name, "", 0, false}));
    }
    return it->second;
  }

  void add_label(pb::Sample* s, const std::string& key, const std::string& value) {
    if (value.empty()) return;
    pb::Label* l = s->add_label();
    l->set_key(string_id(key));
    l->set_str(string_id(value));
  }

  pb::Profile& profile() { return profile_; }

 private:
  const replay::TraceSymbols& symbols_;
  pb::Profile profile_;
  std::unordered_map<std::string, int64_t> strings_;
  std::map<std::pair<std::string, std::string>, uint64_t> functions_;
  std::map<std::pair<uint64_t, bool>, uint64_t> locations_;
  std::map<std::string, uint64_t> pseudo_;
};

Status gzip_to(const std::string& bytes, std::FILE* out) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper, which pprof expects, not zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return make_error("cannot start gzip compression", "");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  unsigned char buf[1 << 16];
  int rc = Z_OK;
  do {
    z.next_out = buf;
    z.avail_out = sizeof buf;
    rc = deflate(&z, Z_FINISH);
    size_t n = sizeof buf - z.avail_out;
    if (n && std::fwrite(buf, 1, n, out) != n) {
      deflateEnd(&z);
      return make_error("cannot write the profile", "check the output file's disk and permissions");
    }
  } while (rc == Z_OK);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return make_error("gzip compression failed", "");
  return Ok{};
}

}  // namespace

Status write_pprof(const replay::TraceReader& reader, const replay::TraceSymbols& symbols, const GoroutineStacks& stacks,
                   uint64_t at_ns, uint64_t at_events, std::FILE* out) {
  ProfileBuilder b(symbols);
  pb::Profile& p = b.profile();
  const replay::TraceHeader& h = reader.header();

  pb::ValueType* type = p.add_sample_type();
  type->set_type(b.string_id("goroutine"));
  type->set_unit(b.string_id("count"));
  *p.mutable_period_type() = *type;
  p.set_period(1);
  // Wall time of the point: the trace's clock base pairs a monotonic reading with a wall one.
  if (h.clock.wall_unix_ns && h.clock.monotonic_ns && at_ns >= h.clock.monotonic_ns)
    p.set_time_nanos(h.clock.wall_unix_ns + static_cast<int64_t>(at_ns - h.clock.monotonic_ns));
  p.add_comment(b.string_id(fmt::format("gorepro export of {} ({}, {} backend) as of event {}", h.binary_path,
                                        h.go_version, h.backend, at_events ? at_events - 1 : 0)));

  pb::Mapping* m = p.add_mapping();
  m->set_id(1);
  m->set_memory_start(0);
  m->set_memory_limit(~uint64_t{0});
  m->set_filename(b.string_id(h.binary_path));
  m->set_build_id(b.string_id(h.build_id));
  const bool symbolic = symbols.symbolic();
  m->set_has_functions(symbolic);
  m->set_has_filenames(symbolic);
  m->set_has_line_numbers(symbolic);
  m->set_has_inline_frames(symbolic);

  for (const StackGroup& g : stacks.groups) {
    pb::Sample* s = p.add_sample();
    if (!g.no_stack.empty()) s->add_location_id(b.pseudo_location_id(g.no_stack));
    for (size_t i = 0; i < g.pcs.size(); ++i) s->add_location_id(b.location_id(g.pcs[i], i == 0 && g.first_exact));
    s->add_value(static_cast<int64_t>(g.goroutines));
    b.add_label(s, "go_statement", g.go_statement);
    b.add_label(s, "state", g.state);
    b.add_label(s, "wait_reason", g.wait_reason);
    for (const replay::Label& l : g.labels) b.add_label(s, l.key.c_str(), l.value);
  }
  std::string bytes;
  if (!p.SerializeToString(&bytes)) return make_error("cannot encode the profile", "");
  return gzip_to(bytes, out);
}

}  // namespace gorepro::exporting
