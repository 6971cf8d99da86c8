// wgsleeper: a goroutine waits on a WaitGroup whose last Done belongs to a worker that is
// still sleeping (a slow task); it wakes when the worker does.
package main

import (
	"sync"
	"time"

	"gorepro/tests/verdict/internal/vexit"
)

func main() {
	vexit.Serve(1, func(int) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			time.Sleep(time.Hour) // waits: 1 x sleep -> time_io
			wg.Done()
		}()
		go func() {
			wg.Wait() // waits: 1 x semacquire|sync.WaitGroup.Wait -> may_wake
		}()
	})
	vexit.Exit(2)
}
