// raceclose: an intermittent leak — a select that loses a race with a close, the bug kernel of
// Kubernetes' watch.Mux (pkg/watch/mux.go; one of the Kubernetes blocking bugs Tu et al.,
// "Understanding Real-World Concurrency Bugs in Go", ASPLOS 2019, studied). The mux's loop
// takes each event from its source and distributes it to the watcher with a bare
// `w.result <- event`; the watcher's consumer reads the events it wants, then calls Stop and
// reads no more. When the source's next event reaches the loop's select before Stop's close,
// the loop takes it and blocks forever in the send. Kubernetes fixed it by giving each watcher
// a `stopped` channel that Stop closes and the send selects on.
//
// The source pauses 5 ms between events (`pause`), so the leak needs the consumer held between
// its last read and the close for longer than that: a thread descheduled 5 ms on this machine,
// or a hold that lasts until the loop has parked twice (waiting for the next event, then in the
// send). With a 0.2 ms pause plain `record` leaked in ~4% of runs under load: too often to show
// what `repro` adds.
//
// Measured with Go 1.26 on a 2-vCPU VM shared with other builds (bench/repro.sh, two runs,
// 18:57-19:11 UTC, load 2-10): natively 0 runs in 300 leaked; under plain `gorepro record`, 0
// of 900; under `gorepro repro`, a median of 4.5-5.5 runs (docs/repro.md).
package main

import (
	"sync/atomic"
	"time"

	"gorepro/internal/gosite"
)

const (
	wanted = 5                    // events the consumer reads before it stops watching
	pause  = 5 * time.Millisecond // between the source's events
)

var (
	taken    atomic.Int64 // events the mux's loop took from the source
	returned atomic.Bool  // the loop saw the watcher stopped and returned
)

// source produces the mux's incoming events until the watcher is stopped.
func source(incoming chan<- int, stopped <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case incoming <- i:
		case <-stopped:
			return
		}
		time.Sleep(pause)
	}
}

// loop is Mux.loop with distribute inlined, for one watcher.
func loop(incoming <-chan int, result chan<- int, stopped <-chan struct{}) {
	for {
		select {
		case event := <-incoming:
			taken.Add(1)
			result <- event // BUG: no `case <-stopped`; blocks forever once the watcher is stopped
		case <-stopped:
			returned.Store(true)
			return
		}
	}
}

func main() {
	incoming, result, stopped := make(chan int), make(chan int), make(chan struct{})
	go source(gosite.Count(incoming), stopped)
	go loop(gosite.Count(incoming), result, stopped) // may leak: 1 x chan send
	for i := 0; i < wanted; i++ {
		<-result
	}
	close(stopped) // the watcher's Stop
	// The loop either returns or is stuck with one event more than we read.
	for !returned.Load() && taken.Load() <= wanted {
		time.Sleep(100 * time.Microsecond)
	}
	leaked := 0
	if !returned.Load() {
		leaked = 1
	}
	gosite.Finish(leaked)
}
