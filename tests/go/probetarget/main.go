// probetarget: steady goroutine traffic for the probe and early tracer tests — for about
// 0.2 s, rounds of goroutines are created, parked on channels, woken and finished. With
// -leak N it first leaks N goroutines parked in a channel receive, at the line marked "leak".
// It prints nothing; the exit state is settled (gosite.Settle) before main returns.
package main

import (
	"flag"
	"sync"
	"time"

	"gorepro/internal/gosite"
)

var never = make(chan struct{})

func main() {
	leak := flag.Int("leak", 0, "goroutines to leak, parked in chan receive")
	duration := flag.Duration("duration", 200*time.Millisecond, "how long to generate traffic")
	flag.Parse()

	for i := 0; i < *leak; i++ {
		go leaker(never) // mark: leak
	}

	deadline := time.Now().Add(*duration)
	for round := 0; time.Now().Before(deadline); round++ {
		pingPong(8, 16)
	}
	gosite.Settle(*leak)
}

func leaker(c <-chan struct{}) { <-c }

// pingPong starts n pairs of goroutines that hand a token back and forth k times through
// unbuffered channels, so every hand-off parks one goroutine and readies the other.
func pingPong(n, k int) {
	var wg sync.WaitGroup
	wg.Add(2 * n)
	for i := 0; i < n; i++ {
		ping, pong := make(chan int), make(chan int)
		go player(ping, pong, k, true, &wg)  // mark: ping
		go player(pong, ping, k, false, &wg) // mark: pong
	}
	wg.Wait()
}

func player(in <-chan int, out chan<- int, k int, serve bool, wg *sync.WaitGroup) {
	defer wg.Done()
	if serve {
		out <- 0
	}
	for {
		v, ok := <-in
		if !ok {
			return
		}
		if v == k {
			close(out)
			return
		}
		out <- v + 1
	}
}
