// The one place that knows which backends exist: `record`, `debug` and `repro` make theirs
// here, by the name the user gave (--backend).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dwarf/go_binary.h"
#include "tracer/backend.h"
#include "util/result.h"

namespace gorepro::cli {

// Every backend name --backend accepts (whether or not this build or machine can run it).
const std::vector<std::string>& backend_names();
// One line for --help: each backend this build has, and what it costs the program.
std::string backend_help();
// What a user may tune in one backend or another; 0 keeps the backend's default.
struct BackendTuning {
  uint64_t ring_bytes = 0;  // ebpf: the ring buffer between the probes and gorepro
  uint64_t snapshot_interval_ns = 0;  // "snapshot" (record --snapshot): between two goroutine-list reads
};

// A backend for recording `binary`, or why it cannot be had here (or with this tuning). Besides
// backend_names(), "snapshot" samples the goroutine list (record --snapshot; no probes).
Result<std::unique_ptr<tracer::Backend>> make_backend(std::string_view name, const GoBinary& binary,
                                                      const BackendTuning& tuning = {});

}  // namespace gorepro::cli
