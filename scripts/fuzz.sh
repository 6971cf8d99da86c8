#!/usr/bin/env bash
# Fuzzes the trace reader (TraceReader::parse + Replayer + report) with libFuzzer under
# ASan+UBSan (the sanitizer build of scripts/build-san.sh, BUILD_DIR) for a bounded time,
# starting from a seed corpus written by TraceWriter; then the schedtrace parser/splitter for as
# long, seeded with the captured runtime output in tests/data/schedtrace/; then the GDB/MI parser
# for as long, seeded with captured gdb output (tests/data/gdbmi/*.mi, cut into runs of lines).
# Usage: scripts/fuzz.sh [SECONDS]   (default $FUZZ_SECONDS, else 60, per target; needs clang)
# Exits non-zero when the fuzzer finds a crash; the reproducer is left in build-san/.
set -euo pipefail
seconds="${1:-${FUZZ_SECONDS:-60}}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-san}"
BUILD_DIR="$build" bash "$root/scripts/build-san.sh" trace_reader_fuzz schedtrace_fuzz mi_parser_fuzz \
  replay_make_seed_corpus
corpus="$build/fuzz-corpus"
mkdir -p "$corpus"
"$build/tests/fuzz/replay_make_seed_corpus" "$corpus"
cd "$build"
ASAN_OPTIONS=allocator_may_return_null=0:detect_leaks=1 \
  "$build/tests/fuzz/trace_reader_fuzz" "$corpus" -max_total_time="$seconds" -max_len=65536 \
  -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1
sched_corpus="$build/fuzz-corpus-schedtrace"
mkdir -p "$sched_corpus"
cp "$root"/tests/data/schedtrace/*.txt "$sched_corpus/"
ASAN_OPTIONS=allocator_may_return_null=0:detect_leaks=1 \
  "$build/tests/fuzz/schedtrace_fuzz" "$sched_corpus" -max_total_time="$seconds" -max_len=65536 \
  -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1
mi_corpus="$build/fuzz-corpus-gdbmi"
mkdir -p "$mi_corpus"
for f in "$root"/tests/data/gdbmi/*.mi; do
  split -l 3 -d -a 3 "$f" "$mi_corpus/$(basename "$f" .mi)-"
done
ASAN_OPTIONS=allocator_may_return_null=0:detect_leaks=1 \
  "$build/tests/fuzz/mi_parser_fuzz" "$mi_corpus" -max_total_time="$seconds" -max_len=65536 \
  -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1
