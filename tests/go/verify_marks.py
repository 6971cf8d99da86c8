#!/usr/bin/env python3
"""Second witness for the `// want leak:` marks of the example programs.

gorepro's tests take the marks as ground truth, so the marks themselves must be checked by
something that is not gorepro: here, the Go runtime. Each example, run with
GOREPRO_EXAMPLE_SELFCHECK=1, ends by writing runtime.Stack(all) to stderr at the moment main
is about to return. This script parses that dump and checks, per Go version and per run:

  * the program exits 0 and its stdout holds only `gorepro-count main.go:LINE N` lines, each
    naming a line of main.go that has a `go` statement;
  * every goroutine alive besides main was created at a marked `go` statement;
  * per mark, the number alive equals N (at most N for a `// may leak:` mark, an intermittent
    leak) and each one's wait reason is one of the alternatives;
  * the statement ran at least N times (per gorepro-count).

Across versions it checks that every alternative reason is a wait reason string of some tested
Go version (runtime2.go), and warns about alternatives no tested version produced.

The verdicts after `->` are the leak verdicts gorepro must give (docs/verdicts.md); the dump cannot
say them, so they are not checked here.

Usage:
  verify_marks.py [--runs N] [--goroot 1.19=GOROOT ...] SOURCE_DIR 1.19=BINARY [1.21=BINARY ...]
  verify_marks.py --build [--runs N] --goroot 1.19=GOROOT [--goroot 1.26=GOROOT ...] SOURCE_DIR...
The GOROOTs are where each toolchain lives (`go env GOROOT`): their runtime2.go says which
wait reasons exist; --build builds with each one's bin/go.
Exit status: 0 when every check holds, 1 on any mismatch, 2 on usage errors.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

MARK = re.compile(r"//\s*(?:want|may)\s+leak\b(.*)$")  # any attempt at a mark, held to MARK_BODY
MARK_BODY = re.compile(r"^:\s*(\d+)\s+x\s+(\S.*?)\s*$")
GO_STMT = re.compile(r"(^|[^\w.])go\s+[\w(]")
HEADER = re.compile(r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[(.*)\]:$")
CREATED = re.compile(r"^created by (\S+)(?: in goroutine \d+)?$")
FRAME_FILE = re.compile(r"^\t(.+):(\d+)(?: \+0x[0-9a-f]+)?$")
COUNT = re.compile(r"^gorepro-count (\S+):(\d+) (\d+)$")
REASON_STRINGS = re.compile(r'^\s*waitReason\w+:\s*"([^"]*)",')


def read_marks(source_dir):
    """{(basename, line): (count, [reasons])} and {basename: [lines]} for the .go files."""
    marks, sources = {}, {}
    for name in sorted(os.listdir(source_dir)):
        if not name.endswith(".go"):
            continue
        with open(os.path.join(source_dir, name)) as f:
            lines = f.read().split("\n")
        sources[name] = lines
        for i, text in enumerate(lines, 1):
            m = MARK.search(text)
            if not m:
                continue
            body = MARK_BODY.match(m.group(1))
            if not body or int(body.group(1)) <= 0:
                sys.exit(f"{name}:{i}: malformed mark {text.strip()!r}: want '// want leak: N x REASON[|REASON...]'")
            if not GO_STMT.search(text[: m.start()]):
                sys.exit(f"{name}:{i}: the mark is not on the line of a go statement")
            # After `->`: the leak verdict they deserve (tests/common/marks.h), not the runtime's to check.
            reasons = [r.strip() for r in body.group(2).split("->")[0].split("|")]
            if not all(reasons):
                sys.exit(f"{name}:{i}: empty wait reason in mark {text.strip()!r}")
            # `may leak`: an intermittent leak, 0 to N left depending on the schedule
            may = re.search(r"//\s*may\s+leak", text) is not None
            marks[(name, i)] = (int(body.group(1)), reasons, may)
    return marks, sources


def parse_dump(dump):
    """[(goid, reason, created_by_fn, (basename, line))] for every goroutine block."""
    out = []
    for block in dump.strip().split("\n\n"):
        lines = block.split("\n")
        h = HEADER.match(lines[0])
        if not h:
            continue
        reason = h.group(2)
        reason = re.sub(r", locked to thread$", "", reason)
        reason = re.sub(r", \d+ minutes$", "", reason)
        reason = re.sub(r" \(scan\)$", "", reason)
        creator, site = None, None
        for k, text in enumerate(lines):
            c = CREATED.match(text)
            if c and k + 1 < len(lines):
                f = FRAME_FILE.match(lines[k + 1])
                if f:
                    creator, site = c.group(1), (os.path.basename(f.group(1)), int(f.group(2)))
        out.append((int(h.group(1)), reason, creator, site))
    return out


def check_run(label, marks, sources, stdout, stderr, rc, errors):
    seen = {}  # site -> [reasons]
    if rc != 0:
        errors.append(f"{label}: exit status {rc}\n{stderr[-2000:]}")
        return seen
    counts = {}
    for text in stdout.splitlines():
        m = COUNT.match(text)
        if not m:
            errors.append(f"{label}: unexpected stdout line {text!r}")
            continue
        site = (m.group(1), int(m.group(2)))
        src = sources.get(site[0])
        if src is None or site[1] > len(src) or not GO_STMT.search(src[site[1] - 1].split("//")[0]):
            errors.append(f"{label}: gorepro-count names {site[0]}:{site[1]}, which is not a go statement")
        counts[site] = int(m.group(3))
    goroutines = parse_dump(stderr)
    if not goroutines or goroutines[0][1] != "running" or goroutines[0][2] is not None:
        errors.append(f"{label}: the dump does not start with the running main goroutine")
        return seen
    for goid, reason, creator, site in goroutines[1:]:
        if site is None:
            errors.append(f"{label}: goroutine {goid} [{reason}] has no creation site")
            continue
        seen.setdefault(site, []).append(reason)
        if site not in marks:
            errors.append(f"{label}: goroutine {goid} [{reason}] created by {creator} at "
                          f"{site[0]}:{site[1]} is alive at exit but that line has no mark")
    for site, (want, reasons, may) in sorted(marks.items()):
        got = seen.get(site, [])
        where = f"{label}: {site[0]}:{site[1]}"
        if may and len(got) > want:
            errors.append(f"{where}: mark says at most {want} may leak, the runtime shows {len(got)} alive")
        elif not may and len(got) != want:
            errors.append(f"{where}: mark says {want} leaked, the runtime shows {len(got)} alive")
        bad = sorted(set(r for r in got if r not in reasons))
        if bad:
            errors.append(f"{where}: wait reason {bad} is not among the marked {reasons}")
        if counts.get(site, 0) < (len(got) if may else want):
            errors.append(f"{where}: the go statement ran {counts.get(site, 0)} times, fewer than the {want} leaked")
    return seen


def known_reasons(version, goroots):
    if version not in goroots:
        return None
    path = os.path.join(goroots[version], "src/runtime/runtime2.go")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return {m.group(1) for m in map(REASON_STRINGS.match, f) if m}


def verify(source_dir, binaries, runs, goroots):
    """binaries: [(version, path)]. Returns the list of errors; prints a summary."""
    marks, sources = read_marks(source_dir)
    name = os.path.basename(os.path.normpath(source_dir))
    errors, observed = [], {}
    env = dict(os.environ, GOREPRO_EXAMPLE_SELFCHECK="1")
    for version, binary in binaries:
        for run in range(runs):
            label = f"{name} go{version} run {run + 1}"
            try:
                p = subprocess.run([binary], capture_output=True, text=True, env=env, timeout=30)
                rc, out, err = p.returncode, p.stdout, p.stderr
            except subprocess.TimeoutExpired:
                rc, out, err = "timeout (30 s)", "", ""
            seen = check_run(label, marks, sources, out, err, rc, errors)
            for site, reasons in seen.items():
                observed.setdefault(site, {}).setdefault(version, set()).update(reasons)
    valid = set()  # over every toolchain given, also those whose binaries this run leaves out
    for version in set(goroots) | {v for v, _ in binaries}:
        valid |= known_reasons(version, goroots) or set()
    for site, (want, reasons, may) in sorted(marks.items()):
        per_version = observed.get(site, {})
        for r in reasons:
            if valid and r not in valid:
                errors.append(f"{name}: {site[0]}:{site[1]}: {r!r} is not a wait reason of any tested Go version")
            elif not may and not any(r in got for got in per_version.values()):
                print(f"note: {name}: {site[0]}:{site[1]}: no tested version parks in {r!r}")
        shown = ", ".join(f"go{v}: {'|'.join(sorted(rs))}" for v, rs in sorted(per_version.items()))
        print(f"{name}: {site[0]}:{site[1]} {'may' if may else 'want'} {want} x {'|'.join(reasons)} — seen {shown or 'none'}")
    if not marks:
        print(f"{name}: no marks — checked that no goroutine besides main is alive at exit")
    return errors


def build(source_dir, version, goroots, outdir):
    go = os.path.join(goroots[version], "bin/go")
    out = os.path.join(outdir, f"go{version}", os.path.basename(os.path.normpath(source_dir)))
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false", GOPROXY="off",
               CGO_ENABLED="0", GOCACHE=f"/tmp/gocache-{version}")
    subprocess.run([go, "build", "-o", out, "."], cwd=source_dir, env=env, check=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per binary (default 3)")
    ap.add_argument("--build", action="store_true", help="build each SOURCE_DIR with each version first")
    ap.add_argument("--goroot", action="append", default=[], metavar="VERSION=GOROOT",
                    help="where toolchain VERSION lives (repeat per version)")
    ap.add_argument("args", nargs="+", metavar="SOURCE_DIR or VERSION=BINARY")
    a = ap.parse_args()
    if any("=" not in g for g in a.goroot):
        ap.error("--goroot wants VERSION=GOROOT")
    goroots = dict(g.split("=", 1) for g in a.goroot)
    errors = []
    if a.build:
        if not goroots:
            ap.error("--build needs --goroot VERSION=GOROOT for each version to build with")
        with tempfile.TemporaryDirectory() as tmp:
            for src in a.args:
                bins = [(v, build(src, v, goroots, tmp)) for v in goroots]
                errors += verify(src, bins, a.runs, goroots)
    else:
        src, pairs = a.args[0], a.args[1:]
        if not pairs or any("=" not in p for p in pairs):
            ap.error("want SOURCE_DIR followed by VERSION=BINARY pairs")
        binaries = [tuple(p.split("=", 1)) for p in pairs]
        # scripts/test.sh runs the suite once per toolchain: GOREPRO_TEST_GO names the one.
        only = os.environ.get("GOREPRO_TEST_GO")
        if only:
            binaries = [(v, b) for v, b in binaries if v == only]
            if not binaries:
                ap.error(f"GOREPRO_TEST_GO={only}: no binary for that version")
        errors = verify(src, binaries, a.runs, goroots)
    for e in errors:
        print("MISMATCH:", e, file=sys.stderr)
    print("verify_marks: " + (f"{len(errors)} mismatch(es)" if errors else "all marks hold"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
