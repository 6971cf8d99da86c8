// Package gosite is the bookkeeping shared by the examples and the Go test programs: it counts
// how often each `go` statement runs, and at the end of main it waits until the only goroutines
// left are the ones the program means to leak, all of them parked, so that the state a tracer
// sees when main returns is the state the `// want leak:` marks describe — not a race with
// goroutines that are still finishing.
//
// Its module path is gorepro/internal/gosite (not .../examples/internal/...) so that both
// gorepro/examples/* and gorepro/tests/go/* may import it. It starts no goroutines of its own.
package gosite

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

var (
	mu     sync.Mutex
	counts = map[int]int{} // line of the go statement in main.go → times executed
)

// Count records one execution of the `go` statement on the caller's line and returns v
// unchanged. Call it inside that statement's arguments, so the line cannot drift:
//
//	go sender(gosite.Count(ch)) // want leak: 7 x chan send
func Count[T any](v T) T {
	_, file, line, ok := runtime.Caller(1)
	if !ok || filepath.Base(file) != "main.go" {
		fmt.Fprintf(os.Stderr, "gosite.Count: called from %s:%d; examples keep their go statements in main.go\n", file, line)
		os.Exit(2)
	}
	mu.Lock()
	counts[line]++
	mu.Unlock()
	return v
}

// Finish is the last call in main. It waits for the exit state (see Settle), then prints one
// "gorepro-count main.go:LINE N" line per go statement. With GOREPRO_EXAMPLE_SELFCHECK=1 it
// also writes the runtime's dump of all goroutines to stderr, which tests/go/verify_marks.py
// compares with the marks.
func Finish(leaked int) {
	dump := Settle(leaked)
	mu.Lock()
	lines := make([]int, 0, len(counts))
	for l := range counts {
		lines = append(lines, l)
	}
	sort.Ints(lines)
	for _, l := range lines {
		fmt.Printf("gorepro-count main.go:%d %d\n", l, counts[l])
	}
	mu.Unlock()
	if os.Getenv("GOREPRO_EXAMPLE_SELFCHECK") == "1" {
		fmt.Fprint(os.Stderr, dump)
	}
	// GOREPRO_EXAMPLE_HOLD=500ms keeps the exit state that long before main returns, so that a
	// sampling recorder (record --snapshot) reads it at least once.
	if hold, err := time.ParseDuration(os.Getenv("GOREPRO_EXAMPLE_HOLD")); err == nil {
		time.Sleep(hold)
	}
}

// Settle waits (up to 30 s) until exactly `leaked` goroutines besides the caller exist and
// every one of them is parked, and returns the runtime's dump of that state. It exits the
// program with status 3 if that state does not come. The bound is generous because under a
// slow tracer (the gdb backend, milliseconds per event, on a loaded machine) one goroutine was
// seen runnable and not yet parked 5 s after the rest; the wait ends as soon as the state comes.
//
// Waiting on the runtime's own view is what makes the state deterministic: a goroutine that
// has called wg.Done() may still be running its last instructions, and a goroutine about to
// leak may not have parked yet. Neither shows up as parked in runtime.Stack, and a goroutine
// leaves runtime.Stack only once it is dead, i.e. after runtime.goexit1.
func Settle(leaked int) string {
	deadline := time.Now().Add(30 * time.Second)
	for {
		dump := allStacks()
		others, parked := census(dump)
		if others == leaked && parked == others {
			return dump
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "gosite.Settle: want %d parked goroutines besides the caller, have %d (%d parked)\n%s",
				leaked, others, parked, dump)
			os.Exit(3)
		}
		time.Sleep(time.Millisecond)
	}
}

func allStacks() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Goroutine states that runtime.Stack prints when a goroutine is not parked with a wait
// reason (gStatusStrings in runtime/traceback.go).
var notParked = map[string]bool{
	"idle": true, "runnable": true, "running": true, "syscall": true, "dead": true,
	"moribund": true, "enqueue": true, "copystack": true, "preempted": true,
}

// census counts the goroutines in a runtime.Stack(all) dump other than the first (the caller)
// and how many of them are parked.
func census(dump string) (others, parked int) {
	first := true
	for _, l := range strings.Split(dump, "\n") {
		if !strings.HasPrefix(l, "goroutine ") || !strings.HasSuffix(l, "]:") {
			continue
		}
		if first {
			first = false
			continue
		}
		others++
		status := l[strings.Index(l, "[")+1 : len(l)-2]
		if i := strings.Index(status, ","); i >= 0 {
			status = status[:i] // ", N minutes", ", locked to thread"
		}
		status = strings.TrimSuffix(status, " (scan)")
		if !notParked[status] {
			parked++
		}
	}
	return others, parked
}
