// racetimeout: an intermittent leak — a timeout racing a send on an unbuffered channel.
// Each request starts a worker that computes an answer and sends it on an unbuffered channel;
// the caller waits for it with a deadline. When the deadline wins the race, nobody ever reads
// the channel and the worker blocks in its send forever. The worker normally answers within
// ~0.1 ms of a 2 ms deadline, so the leak needs a schedule in which the worker is held back
// (preempted, descheduled, or its thread stopped) for longer than that.
//
// Measured with Go 1.26 on a 2-vCPU VM shared with other builds (a run leaks when any of its 10
// requests does): natively 1 run in 100 leaked (bench/repro.sh NATIVE); under plain
// `gorepro record`, 3 of 60 runs (5%); under `gorepro repro`, see docs/repro.md.
package main

import (
	"time"

	"gorepro/internal/gosite"
)

const (
	requests = 10
	deadline = 2 * time.Millisecond
)

func fetch(key int) (int, bool) {
	answer := make(chan int) // BUG: unbuffered; a buffer of 1 would let the worker finish
	go worker(gosite.Count(answer), key) // may leak: 10 x chan send
	select {
	case v := <-answer:
		return v, true
	case <-time.After(deadline):
		return 0, false
	}
}

func worker(answer chan<- int, key int) {
	answer <- checksum(key)
}

// checksum is the worker's ~50 µs of real work.
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
		if _, ok := fetch(i); !ok {
			timedOut++ // its worker is now blocked forever in `answer <- …`
		}
	}
	gosite.Finish(timedOut)
}
