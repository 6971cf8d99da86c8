// racewgadd: an intermittent leak — a WaitGroup whose Add races its Wait.
// Workers call wg.Add(1) themselves, inside the goroutine (the bug: Add belongs before `go`).
// The dispatcher prepares for ~2 ms, waits on the WaitGroup, then tells the collector to stop.
// A worker that has not reached its Add by then is not waited for: it sends its result after
// the collector has gone and blocks in that send forever. Workers normally start within
// microseconds, so the leak needs a schedule in which a new goroutine's first run is delayed
// past the dispatcher's preparation.
//
// Measured with Go 1.26 on a 2-vCPU VM shared with other builds: natively 0 runs in 100 leaked
// (0 in 100 with a 0.5 ms preparation too); under plain `gorepro record`, 1 of 30 (with 0.5 ms,
// 6 of 30 — tracing slows the workers' start, hence 2 ms); under `gorepro repro`, docs/repro.md.
package main

import (
	"sync"
	"sync/atomic"
	"time"

	"gorepro/internal/gosite"
)

const workers = 8

var (
	wg    sync.WaitGroup
	added atomic.Int64 // workers past their Add
)

func worker(results chan<- int, id int) {
	wg.Add(1) // BUG: races wg.Wait below; call it before `go`
	added.Add(1)
	defer wg.Done()
	results <- id * id
}

func collector(results <-chan int, done <-chan struct{}, collected chan<- int) {
	n := 0
	for {
		select {
		case <-results:
			n++
		case <-done:
			collected <- n
			return
		}
	}
}

func main() {
	results, done, collected := make(chan int), make(chan struct{}), make(chan int)
	go collector(gosite.Count(results), done, collected)
	for i := 0; i < workers; i++ {
		go worker(gosite.Count(results), i) // may leak: 8 x chan send
	}
	time.Sleep(2 * time.Millisecond) // "preparing the batch"
	wg.Wait()
	close(done)
	got := <-collected
	// Every worker reaches its Add eventually; those the collector did not get are stuck.
	for added.Load() < workers {
		time.Sleep(100 * time.Microsecond)
	}
	gosite.Finish(workers - got)
}
