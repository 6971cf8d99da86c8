// churn: the goroutine-churn workload of bench/churn.sh.
//
// It creates -n goroutines in batches of -batch. Every goroutine parks exactly once, on a
// receive from its own unbuffered channel, and is woken exactly once, by the main goroutine's
// send, then exits. A park is guaranteed rather than likely: main only sends with a
// non-blocking select, which on an unbuffered channel succeeds only when the receiver is
// already parked in the channel's receive queue; until then main yields (runtime.Gosched does
// not park). To make that rare, main first waits until every goroutine of the batch has
// started (each calls started.Done() just before its receive). So each goroutine costs the
// tracer one create, one park, one ready and one exit; main adds about two parks and two
// readies per batch (the two sync.WaitGroup.Wait calls).
//
// The work is deterministic: the same -n and -batch always create, park and wake the same
// number of goroutines and print the same checksum, whatever -creators is. With -creators K,
// K goroutines do this each for their share of the n, in parallel (as many threads busy
// creating goroutines as the machine lets run at once, up to K).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

func main() {
	n := flag.Int("n", 100000, "goroutines to create")
	batch := flag.Int("batch", 1000, "goroutines alive at once (per creator)")
	creators := flag.Int("creators", 1, "goroutines creating in parallel, each for its share of -n")
	flag.Parse()
	if *n < 0 || *batch <= 0 || *creators <= 0 {
		fmt.Fprintln(os.Stderr, "churn: -n must be >= 0, -batch and -creators > 0")
		os.Exit(2)
	}

	var sum, woken int64
	var spins int64
	var all sync.WaitGroup
	for c := 0; c < *creators; c++ {
		from, to := *n*c / *creators, *n*(c+1) / *creators
		all.Add(1)
		go func() {
			defer all.Done()
			atomic.AddInt64(&spins, int64(create(from, to, *batch, &sum, &woken)))
		}()
	}
	all.Wait()
	if woken != int64(*n) {
		fmt.Fprintf(os.Stderr, "churn: %d goroutines woken, want %d\n", woken, *n)
		os.Exit(1)
	}
	fmt.Printf("churn: created %d goroutines, each parked and woken once, checksum %d\n", *n, sum)
	if os.Getenv("CHURN_VERBOSE") != "" {
		fmt.Fprintf(os.Stderr, "churn: %d yields while waiting for receivers to park\n", spins)
	}
}

// create makes the goroutines [from, to) in batches and wakes each once; it returns how many
// times it yielded waiting for a receiver to park.
func create(from, to, batch int, sum, woken *int64) int {
	spins := 0
	var wg, started sync.WaitGroup
	chans := make([]chan int64, batch)
	created := from
	for created < to {
		b := batch
		if to-created < b {
			b = to - created
		}
		wg.Add(b)
		started.Add(b)
		for i := 0; i < b; i++ {
			ch := make(chan int64)
			chans[i] = ch
			go worker(ch, &started, &wg, sum, woken)
		}
		started.Wait()
		for i := 0; i < b; i++ {
			v := int64(created + i)
			for {
				select {
				case chans[i] <- v: // the receiver was parked: this send readies it
				default: // not parked yet: let it run
					spins++
					runtime.Gosched()
					continue
				}
				break
			}
			chans[i] = nil
		}
		wg.Wait()
		created += b
	}
	return spins
}

func worker(ch chan int64, started, wg *sync.WaitGroup, sum, woken *int64) {
	started.Done()
	v := <-ch
	atomic.AddInt64(sum, v*v%1000003)
	atomic.AddInt64(woken, 1)
	wg.Done()
}
