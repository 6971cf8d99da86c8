// snapsites: goroutines from several `go` statements, held still while the program writes the
// runtime's own goroutine profile (runtime/pprof, debug=1) to -profile — the oracle the per-site
// counts of `gorepro record --snapshot` are held against. Before that it churns (goroutines that
// come and go), so the snapshots have changes to follow. It prints "profile written" at the
// instant and stays still for -hold before it exits.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"
)

// The go statements take no arguments: a call with arguments is wrapped in a compiler-made
// function (main.main.gowrap1, main.main.func1) that the runtime's tracebacks may elide, and
// the per-site comparison is by start function.
var (
	never   = make(chan int)
	done    = make(chan struct{})
	mu      sync.Mutex
	wg      sync.WaitGroup
	started sync.WaitGroup
)

func main() {
	profile := flag.String("profile", "", "where to write the goroutine profile (debug=1)")
	hold := flag.Duration("hold", time.Second, "how long to stay still after writing it")
	churn := flag.Int("churn", 2000, "goroutines created and finished before the instant")
	flag.Parse()

	for i := 0; i < *churn; i++ {
		go finish()
		<-done
	}
	mu.Lock()
	wg.Add(1)
	started.Add(5 + 3 + 7 + 4 + 2)
	for i := 0; i < 5; i++ {
		go receiveForever()
	}
	for i := 0; i < 3; i++ {
		go lockForever()
	}
	for i := 0; i < 7; i++ {
		go selectForever()
	}
	for i := 0; i < 4; i++ {
		go sleepForever()
	}
	for i := 0; i < 2; i++ {
		go waitForever()
	}
	// Every one of them running its own code, and then a moment to reach its blocking call
	// (not needed for the counts, which hold either way; it makes the profile's stacks whole).
	started.Wait()
	time.Sleep(20 * time.Millisecond)
	f, err := os.Create(*profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.Lookup("goroutine").WriteTo(f, 1); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f.Close()
	fmt.Println("profile written")
	time.Sleep(*hold)
}

func finish() { done <- struct{}{} }

func receiveForever() {
	started.Done()
	<-never
}

func lockForever() {
	started.Done()
	mu.Lock()
}

func selectForever() {
	started.Done()
	select {}
}

func sleepForever() {
	started.Done()
	for {
		time.Sleep(time.Millisecond)
	}
}

func waitForever() {
	started.Done()
	wg.Wait()
}
