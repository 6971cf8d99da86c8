// selectleak: forwarders loop on a select whose cases can never all go quiet — there is no
// done channel — so when traffic stops they wait forever; plus a goroutine parked on an empty
// select, the degenerate form of the same mistake.
package main

import (
	"sync"

	"gorepro/internal/gosite"
)

const (
	forwarders = 3
	messages   = 300
)

func main() {
	in := make(chan int)
	urgent := make(chan int)
	out := make(chan int)
	for i := 0; i < forwarders; i++ {
		go forward(gosite.Count(in), urgent, out) // want leak: 3 x select
	}
	var fed sync.WaitGroup
	fed.Add(1)
	go feed(gosite.Count(in), urgent, &fed) // finishes
	for i := 0; i < messages; i++ {
		<-out
	}
	fed.Wait()
	park := func(int) { select {} }
	go park(gosite.Count(0)) // want leak: 1 x select (no cases)
	gosite.Finish(forwarders + 1)
}

func feed(in, urgent chan<- int, fed *sync.WaitGroup) {
	defer fed.Done()
	for i := 0; i < messages; i++ {
		if i%10 == 0 {
			urgent <- i
		} else {
			in <- i
		}
	}
}

func forward(in, urgent <-chan int, out chan<- int) {
	for {
		select {
		case v := <-in:
			out <- v
		case v := <-urgent:
			out <- -v
		}
	}
}
