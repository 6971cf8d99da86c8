// Command exitmiddump ends while the runtime is printing a scheduler dump, for the test that
// `gorepro record --schedtrace --scheddetail` shows none of a dump cut short by the program's
// exit. It parks 2,000 goroutines, so one scheddetail dump has over 2,000 G lines — long to
// print while gorepro reads every one. The runtime holds sched.lock for a whole dump, and
// runtime.Gosched needs it: once a goroutine yielding in a loop has not come back for 10 ms, a
// dump is in progress, and main (spinning, needing no lock) exits with status 3 at once.
// Its own stderr is one fixed line without a final newline.
package main

import (
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	runtime.GOMAXPROCS(2) // main spins while the yielder runs
	block := make(chan struct{})
	for i := 0; i < 2000; i++ {
		go func() { <-block }()
	}
	var yielded int64 // unix ns of the yielder's last return from Gosched
	go func() {
		for {
			runtime.Gosched()
			atomic.StoreInt64(&yielded, time.Now().UnixNano())
		}
	}()
	dumping := strings.Contains(os.Getenv("GODEBUG"), "schedtrace=") // else there is no dump to wait for
	start := time.Now()
	for {
		now := time.Now()
		last := atomic.LoadInt64(&yielded)
		if now.Sub(start) > 200*time.Millisecond && last != 0 && now.UnixNano()-last > int64(10*time.Millisecond) {
			break // the yielder waits for sched.lock: a dump is being printed
		}
		if now.Sub(start) > 10*time.Second || (now.Sub(start) > 200*time.Millisecond && !dumping) {
			break
		}
	}
	os.Stderr.Write([]byte("exitmiddump: exiting with 2000 goroutines parked"))
	os.Exit(3)
}
