// raceclose: an intermittent leak — a select that loses a race with a close.
// A subscriber forwards events from a producer to the consumer until `done` is closed. The
// consumer reads the events it wants, then closes `done` and stops reading. If the producer's
// next event reaches the subscriber's select before `done` is closed, the subscriber takes it
// and blocks forever forwarding it (`out <- e`): nobody reads `out` any more. The producer
// pauses ~0.2 ms between events, so the leak needs the consumer held back between its last read
// and the close (or the producer's event hurried along).
//
// Measured with Go 1.26 on a 2-vCPU VM shared with other builds: natively 0 runs in 100 leaked;
// under plain `gorepro record`, 0 of 30; under `gorepro repro`, see docs/repro.md.
package main

import (
	"sync/atomic"
	"time"

	"gorepro/internal/gosite"
)

const wanted = 5

var (
	taken    atomic.Int64 // events the subscriber took from the producer
	returned atomic.Bool  // the subscriber saw done and returned
)

func producer(events chan<- int, done <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case events <- i:
		case <-done:
			return
		}
		time.Sleep(200 * time.Microsecond) // the next event is ~1 ms away
	}
}

func subscriber(events <-chan int, out chan<- int, done <-chan struct{}) {
	for {
		select {
		case e := <-events:
			taken.Add(1)
			out <- e // BUG: no `case <-done` here; blocks forever once the consumer is gone
		case <-done:
			returned.Store(true)
			return
		}
	}
}

func main() {
	events, out, done := make(chan int), make(chan int), make(chan struct{})
	go producer(gosite.Count(events), done)
	go subscriber(gosite.Count(events), out, done) // may leak: 1 x chan send
	for i := 0; i < wanted; i++ {
		<-out
	}
	close(done)
	// The subscriber either returns or is stuck with one event more than we read.
	for !returned.Load() && taken.Load() <= wanted {
		time.Sleep(100 * time.Microsecond)
	}
	leaked := 0
	if !returned.Load() {
		leaked = 1
	}
	gosite.Finish(leaked)
}
