// neverwoken: three go statements for "growing and never woken" (docs/verdicts.md), the
// history's leak signal. Over about 2 s:
//   publish  keeps creating publishers that each send once on a package-level channel nobody
//            receives from: blocked for good, yet a global reaches the channel, so reachability
//            says may_wake — only the history can tell (flagged)
//   consume  keeps creating consumers of a package-level channel a feeder sends to every 2 ms:
//            the same growth, but they are woken (not flagged)
//   pool     a pool of workers started at once on a jobs channel main holds, never sent a job:
//            never woken, but it does not grow (not flagged)
// Then it exits with all of them blocked (the feeder stopped). The three go statements carry
// line marks (publish, consume, pool) for the test to find.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

var (
	results = make(chan int) // nobody ever receives
	events  = make(chan int)
)

const (
	publishers = 40
	consumers  = 40
	workers    = 6
)

func main() {
	every := flag.Duration("every", 50*time.Millisecond, "pause between two creations")
	flag.Parse()

	jobs := make(chan int)
	for i := 0; i < workers; i++ {
		go worker(jobs) // mark: pool
	}
	stop := make(chan struct{})
	fed := make(chan struct{})
	go feed(stop, fed)
	for i := 0; i < publishers; i++ {
		go publish(i) // mark: publish
		go consume()  // mark: consume
		time.Sleep(*every)
	}
	close(stop)
	<-fed
	// Everything is parked once the count stops moving for a while.
	for want, still := publishers+consumers+workers+1, 0; still < 10; time.Sleep(10 * time.Millisecond) {
		if runtime.NumGoroutine() == want {
			still++
		}
	}
	fmt.Println("done")
	os.Exit(0)
}

func publish(i int) { results <- i * i }

func consume() {
	for e := range events {
		_ = e
	}
}

func worker(jobs <-chan int) {
	for j := range jobs {
		_ = j
	}
}

func feed(stop, fed chan struct{}) {
	defer close(fed)
	for i := 0; ; i++ {
		select {
		case events <- i:
		case <-stop:
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
