// mixed: a service-like program that handles a stream of requests over about a second while a
// metrics loop ticks in the background. One request in ten takes a path where the response
// is abandoned and its fetch goroutine blocks in its send, so the leak grows slowly among a
// lot of goroutines that come and go.
package main

import (
	"sync"
	"time"

	"gorepro/internal/gosite"
)

const (
	requests  = 50
	badEvery  = 10
	interval  = 16 * time.Millisecond
	fetchWork = 200
)

func main() {
	stop := make(chan struct{})
	var metricsDone sync.WaitGroup
	metricsDone.Add(1)
	go metrics(gosite.Count(stop), &metricsDone) // finishes: its ticker is stopped and it returns

	var served sync.WaitGroup
	for r := 0; r < requests; r++ {
		served.Add(1)
		go handle(gosite.Count(r), &served)
		time.Sleep(interval)
	}
	served.Wait()
	close(stop)
	metricsDone.Wait()
	gosite.Finish(requests / badEvery)
}

func handle(id int, served *sync.WaitGroup) {
	defer served.Done()
	reply := make(chan int)
	go fetch(gosite.Count(reply)) // want leak: 5 x chan send
	if id%badEvery == badEvery-1 {
		return // the bug: an error path abandons the reply
	}
	<-reply
}

func fetch(reply chan<- int) {
	s := 0
	for i := 0; i < fetchWork; i++ {
		s += i * i
	}
	reply <- s
}

func metrics(stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}
