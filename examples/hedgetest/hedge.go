// Package hedge: a hedged lookup with an intermittent goroutine leak, exercised by a `go test`
// (hedge_test.go) built with `go test -c` — the way `gorepro repro` runs a flaky test
// (docs/repro.md).
//
// Lookup asks a replica; if it has not answered within hedgeAfter, it asks a second one and
// takes whichever answers first. The answers channel is unbuffered, so when both replicas were
// started, the one that answers second blocks in its send forever. A replica answers in ~50 µs
// against a 1 ms hedge, so the leak needs the first replica held back (descheduled, or its
// thread stopped) for longer than that.
//
// Measured with Go 1.26 on a 2-vCPU VM at load average 15-19 (a run leaks when any of its
// lookups does): natively 1 of 100 runs; under plain `gorepro record`, 10 of 30 — tracing's own
// delays often exceed the 1 ms hedge, so this example shows the `go test -c` recipe, not a leak
// that only perturbation finds (examples/race* are those).
package hedge

import (
	"sync/atomic"
	"time"
)

var (
	started  atomic.Int64 // replicas started
	answered atomic.Int64 // replicas whose answer was taken
)

// Lookup returns the answer for key, asking a second replica after hedgeAfter.
func Lookup(key int, hedgeAfter time.Duration) int {
	answers := make(chan int) // BUG: unbuffered; a buffer of 2 would let the slower replica finish
	ask(answers, key)
	select {
	case v := <-answers:
		return v
	case <-time.After(hedgeAfter):
	}
	ask(answers, key) // the hedge: now two replicas race to answer
	return <-answers
}

func ask(answers chan<- int, key int) {
	started.Add(1)
	go replica(answers, key) // may leak: 20 x chan send
}

func replica(answers chan<- int, key int) {
	answers <- checksum(key)
	answered.Add(1)
}

// checksum is a replica's ~50 µs of real work.
func checksum(key int) int {
	h := key
	for i := 0; i < 20000; i++ {
		h = h*31 + i
	}
	return h
}
