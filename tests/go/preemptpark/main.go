// preemptpark: goroutines that park and exit while the runtime keeps asking them to stop.
// A preemption request poisons a goroutine's stack bound, so the next function prologue it
// runs — gopark's or goexit1's included — jumps to morestack, yields, and later runs that
// function again from its entry. A tracer that counts function entries sees such a park or exit
// twice. Here a collector loop (runtime.GC: every cycle suspends each goroutine to scan its
// stack) and a CPU-bound spinner keep those requests coming while pairs of goroutines hand a
// token back and forth, each hand-off a park and a wake, and then exit.
// It prints "preemptpark goroutines N": how many goroutines its go statements started.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var sink []byte

func main() {
	duration := flag.Duration("duration", 600*time.Millisecond, "how long to generate traffic")
	flag.Parse()

	var stop atomic.Bool
	var helpers sync.WaitGroup
	helpers.Add(2)
	go func() { // the collector: a GC cycle every few hundred microseconds
		defer helpers.Done()
		for !stop.Load() {
			runtime.GC()
		}
	}()
	go func() { // the spinner: allocates and never blocks, so sysmon preempts it too
		defer helpers.Done()
		for !stop.Load() {
			sink = make([]byte, 512)
		}
	}()
	started := 2

	deadline := time.Now().Add(*duration)
	for time.Now().Before(deadline) {
		var wg sync.WaitGroup
		const pairs, handoffs = 8, 32
		wg.Add(2 * pairs)
		for i := 0; i < pairs; i++ {
			ping, pong := make(chan int), make(chan int)
			go player(ping, pong, handoffs, true, &wg)
			go player(pong, ping, handoffs, false, &wg)
		}
		started += 2 * pairs
		wg.Wait()
	}
	stop.Store(true)
	helpers.Wait()
	// Done runs in a deferred call, before the goroutine's exit: wait until every goroutine has
	// really finished (a preempted one may still be on its way through goexit).
	for runtime.NumGoroutine() > 1 {
		time.Sleep(time.Millisecond)
	}
	fmt.Printf("preemptpark goroutines %d\n", started)
}

// player hands the token on k times; each receive parks until the partner sends.
func player(in <-chan int, out chan<- int, k int, serve bool, wg *sync.WaitGroup) {
	defer wg.Done()
	if serve {
		out <- 0
	}
	for i := 0; i < k; i++ {
		v, ok := <-in
		if !ok {
			return
		}
		if serve && i == k-1 {
			close(out)
			return
		}
		out <- v + 1
	}
}
