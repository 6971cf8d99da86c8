// recvleak: a pool of workers ranges over a jobs channel that the producer never closes, so
// once the jobs run out every worker blocks in its receive forever. The producer itself
// finishes.
package main

import (
	"sync"

	"gorepro/internal/gosite"
)

const (
	workers = 100
	jobs    = 1000
)

func main() {
	queue := make(chan int)
	var done sync.WaitGroup
	done.Add(jobs)
	var mu sync.Mutex
	sum := 0
	for i := 0; i < workers; i++ {
		go worker(gosite.Count(queue), &done, &mu, &sum) // want leak: 100 x chan receive
	}
	go produce(gosite.Count(queue)) // finishes: it sends every job, but forgets close(queue)
	done.Wait()
	if sum != jobs*(jobs-1)/2 {
		panic("lost a job")
	}
	gosite.Finish(workers)
}

func produce(queue chan<- int) {
	for j := 0; j < jobs; j++ {
		queue <- j
	}
}

func worker(queue <-chan int, done *sync.WaitGroup, mu *sync.Mutex, sum *int) {
	for j := range queue {
		mu.Lock()
		*sum += j
		mu.Unlock()
		done.Done()
	}
}
