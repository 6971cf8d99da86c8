// attachleak: a target for an attached recording's leak verdicts (`record --pid`, stopped with
// SIGINT). It leaks 5 goroutines whose answer channel nothing else reaches — each created by a
// request goroutine that gave up and returned, so no live stack keeps the channel — and keeps a
// ticker worker busy so the recording sees events. It prints "pid N" and "ready" once the leak is
// in place; then each SIGUSR1 makes it answer "pong N" (it still runs and answers after the
// recording), and SIGTERM makes it print "bye" and exit 0.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const leaks = 5

var ticks int64

func main() {
	// The worker and os/signal's goroutine first: one started after the requests ended would
	// reuse a dead request's stack, whose stale words still point at its answer channel.
	go tick()
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGUSR1, syscall.SIGTERM)
	var wg sync.WaitGroup
	wg.Add(leaks)
	for i := 0; i < leaks; i++ {
		go request(i, &wg)
	}
	wg.Wait()
	// Ready once the 5 computations are parked (the request goroutines have returned).
	for runtime.NumGoroutine() > leaks+3 {
		time.Sleep(time.Millisecond)
	}
	fmt.Printf("pid %d\n", os.Getpid())
	fmt.Println("ready")
	for pongs := 1; ; pongs++ {
		if <-signals == syscall.SIGTERM {
			fmt.Println("bye")
			os.Exit(0)
		}
		fmt.Printf("pong %d\n", pongs)
	}
}

// request asks for an answer and gives up at once (a timeout, say): compute's send never ends.
func request(id int, wg *sync.WaitGroup) {
	defer wg.Done()
	answer := make(chan int)
	go compute(id, answer) // want leak: 5 x chan send
}

func compute(id int, answer chan<- int) { answer <- id * id }

func tick() {
	for {
		atomic.AddInt64(&ticks, 1)
		time.Sleep(5 * time.Millisecond)
	}
}
