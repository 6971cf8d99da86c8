// racetimeout: an intermittent leak — a timeout racing a send on an unbuffered channel, the
// bug kernel of Kubernetes' apiserver `finishRequest` (the first example of Tu et al., "Understanding
// Real-World Concurrency Bugs in Go", ASPLOS 2019; fixed there by a buffer of 1). A handler runs
// the request in a goroutine that sends its result on an unbuffered channel, and waits for it
// with a deadline. When the deadline wins, nobody ever reads the channel and the goroutine
// blocks in its send forever. The work takes ~50 µs against a 20 ms deadline, so the leak needs
// the goroutine held back, before its send, for longer than the whole deadline: a thread
// descheduled that long, or a hold that lasts until the handler has timed out and moved on.
// The deadline is that long (and the requests few) so that tracing's own delays on a loaded
// machine do not force the leak: with 10 requests and a 2 ms deadline, plain `record` leaked in
// a quarter of the runs at load 15-30.
//
// Measured with Go 1.26 on a 2-vCPU VM shared with other builds, load average 26-35 (a run leaks
// when any of its 3 requests does): natively 0 runs in 200 leaked (1 in 200 with a 10 ms
// deadline); under plain `gorepro record`, 1 of 60 (4 of 60 with 10 ms), and 0 of 320 in
// bench/repro.sh at load 19-25; under `gorepro repro`, see docs/repro.md.
package main

import (
	"time"

	"gorepro/internal/gosite"
)

const (
	requests = 3
	deadline = 20 * time.Millisecond
)

func finishRequest(key int) (int, bool) {
	result := make(chan int) // BUG: unbuffered; a buffer of 1 lets the request finish
	go handle(gosite.Count(result), key) // may leak: 3 x chan send
	select {
	case v := <-result:
		return v, true
	case <-time.After(deadline):
		return 0, false
	}
}

func handle(result chan<- int, key int) {
	result <- checksum(key)
}

// checksum is the request's ~50 µs of real work.
func checksum(key int) int {
	h := key
	for i := 0; i < 20000; i++ {
		h = h*31 + i
	}
	return h
}

func main() {
	timedOut := 0
	for i := 0; i < requests; i++ {
		if _, ok := finishRequest(i); !ok {
			timedOut++ // its goroutine is now blocked forever in `result <- …`
		}
	}
	gosite.Finish(timedOut)
}
