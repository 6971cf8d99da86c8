// Command deadgs leaves the runtime with 20,000 dead g's: it runs 20,000 goroutines at once (all
// parked on one channel, so each needs its own g), ends them all, then works briefly with a few
// goroutines. Every later scheddetail dump lists every g the runtime keeps, dead ones included —
// the load `record --schedtrace --scheddetail` must bound (its cost per dump).
package main

import (
	"flag"
	"fmt"
	"sync"
	"time"
)

func main() {
	n := flag.Int("n", 20000, "goroutines to create and end")
	work := flag.Duration("work", 300*time.Millisecond, "how long to work afterwards")
	flag.Parse()

	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		go func() {
			defer wg.Done()
			<-release
		}()
	}
	close(release)
	wg.Wait()

	// A few goroutines pass tokens round until -work has passed.
	rounds := 0
	deadline := time.Now().Add(*work)
	for time.Now().Before(deadline) {
		done := make(chan int)
		for i := 0; i < 4; i++ {
			go func(i int) { done <- i }(i)
		}
		for i := 0; i < 4; i++ {
			<-done
		}
		time.Sleep(time.Millisecond)
		rounds++
	}
	fmt.Println("deadgs: done", rounds > 0)
}
