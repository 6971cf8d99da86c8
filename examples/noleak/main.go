// noleak: the control. A busy program — a worker pool, a pipeline, fan-out/fan-in, a mutex
// and a condition variable under contention, timers and a cancelled context — whose
// goroutines are created, parked, woken and finished, all before main returns. A tracer must
// report no leak here.
package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorepro/internal/gosite"
)

const (
	poolWorkers = 16
	poolJobs    = 2000
	fanOut      = 200
	stages      = 4
	contenders  = 50
)

func main() {
	total := pool() + pipeline() + fan() + contend() + timeouts()
	if total != expected() {
		fmt.Println("wrong total", total, expected())
	}
	gosite.Finish(0)
}

func expected() int {
	return poolJobs*(poolJobs-1)/2 + (poolJobs*(poolJobs-1)/2 + stages*poolJobs) + fanOut + contenders*100 + 10
}

// pool: workers range over a jobs channel that is closed when the jobs run out.
func pool() int {
	jobs := make(chan int)
	sums := make(chan int)
	sum := func(jobs <-chan int) {
		s := 0
		for j := range jobs {
			s += j
		}
		sums <- s
	}
	for w := 0; w < poolWorkers; w++ {
		go sum(gosite.Count(jobs))
	}
	for j := 0; j < poolJobs; j++ {
		jobs <- j
	}
	close(jobs)
	total := 0
	for w := 0; w < poolWorkers; w++ {
		total += <-sums
	}
	return total
}

// pipeline: stages connected by channels, each closing its output when its input closes.
func pipeline() int {
	src := make(chan int)
	go generate(gosite.Count(src), poolJobs)
	var in <-chan int = src
	for s := 0; s < stages; s++ {
		out := make(chan int, 8)
		go addOne(gosite.Count(in), out)
		in = out
	}
	total := 0
	for v := range in {
		total += v
	}
	return total
}

func generate(out chan<- int, n int) {
	for i := 0; i < n; i++ {
		out <- i
	}
	close(out)
}

func addOne(in <-chan int, out chan<- int) {
	for v := range in {
		out <- v + 1
	}
	close(out)
}

// fan: one goroutine per item, results gathered under a WaitGroup.
func fan() int {
	var wg sync.WaitGroup
	results := make(chan int, fanOut)
	one := func(int) {
		defer wg.Done()
		results <- 1
	}
	for i := 0; i < fanOut; i++ {
		wg.Add(1)
		go one(gosite.Count(i))
	}
	wg.Wait()
	close(results)
	n := 0
	for r := range results {
		n += r
	}
	return n
}

// contend: goroutines take turns on a mutex and wait on a condition variable until all have
// arrived, so many of them park in Lock and in Cond.Wait and are woken.
func contend() int {
	var mu sync.Mutex
	arrived := sync.NewCond(&mu)
	count, done := 0, 0
	var wg sync.WaitGroup
	arrive := func(int) {
		defer wg.Done()
		mu.Lock()
		count++
		arrived.Broadcast()
		for count < contenders {
			arrived.Wait()
		}
		for k := 0; k < 100; k++ {
			done++
		}
		mu.Unlock()
	}
	for i := 0; i < contenders; i++ {
		wg.Add(1)
		go arrive(gosite.Count(i))
	}
	wg.Wait()
	return done
}

// timeouts: goroutines sleep or wait for a context that is cancelled.
func timeouts() int {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	n := make(chan int, 10)
	for i := 0; i < 5; i++ {
		wg.Add(2)
		go sleeper(gosite.Count(time.Duration(i)*time.Millisecond), &wg, n)
		go waiter(gosite.Count(ctx), &wg, n)
	}
	time.Sleep(5 * time.Millisecond)
	cancel()
	wg.Wait()
	close(n)
	total := 0
	for v := range n {
		total += v
	}
	return total
}

func sleeper(d time.Duration, wg *sync.WaitGroup, n chan<- int) {
	defer wg.Done()
	time.Sleep(d)
	n <- 1
}

func waiter(ctx context.Context, wg *sync.WaitGroup, n chan<- int) {
	defer wg.Done()
	<-ctx.Done()
	n <- 1
}
