// sleepers: -n goroutines (default 1000) that each sleep -sleep (1 ms) in a loop for -for
// (1 s), then exit — a program no per-event tracer keeps up with (~4 M scheduling events per
// second), the case `record --snapshot` is for. -park N first parks N more goroutines on a
// channel for the whole run (100 000 for the cost of one snapshot per goroutine); -hold D
// keeps the program alive that long after the sleepers finish (attach to it meanwhile).
// Prints "ready" once everything is started, and the sleeps done at the end.
package main

import (
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	n := flag.Int("n", 1000, "sleeping goroutines")
	sleep := flag.Duration("sleep", time.Millisecond, "each sleep")
	run := flag.Duration("for", time.Second, "how long they sleep in a loop")
	park := flag.Int("park", 0, "goroutines parked on a channel for the whole run")
	hold := flag.Duration("hold", 0, "stay alive this long after the sleepers finish")
	flag.Parse()

	never := make(chan struct{})
	for i := 0; i < *park; i++ {
		go func() { <-never }()
	}
	var sleeps atomic.Int64
	var wg sync.WaitGroup
	wg.Add(*n)
	deadline := time.Now().Add(*run)
	fmt.Println("ready")
	for i := 0; i < *n; i++ {
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				time.Sleep(*sleep)
				sleeps.Add(1)
			}
		}()
	}
	wg.Wait()
	time.Sleep(*hold)
	fmt.Println("sleeps", sleeps.Load())
}
