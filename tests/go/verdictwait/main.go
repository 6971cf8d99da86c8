// verdictwait: a program that leaks nothing, yet ends with every goroutine it started still
// blocked — each on something that can still wake it. gorepro's leak verdicts must call none
// of them leaked, and say why each waits (the mark names below; the verdict test holds them):
//   sleepers  time.Sleep                                   → time_io
//   netread   Accept on a listener: the netpoller          → time_io
//   holder    sleeps, then would close the workers' jobs   → time_io
//   workers   range over jobs, which holder's stack holds  → may_wake (reached from holder's stack)
//   ticker    range over a live ticker's channel           → time_io (its timer is pending)
//   global    receive on a channel kept in a global        → may_wake (reached from main.events)
//   gate      Lock of a global Mutex that main holds       → may_wake (not a heap object)
package main

import (
	"net"
	"sync"
	"time"

	"gorepro/internal/gosite"
)

const (
	sleepers = 3
	workers  = 4
)

var (
	events = make(chan int)
	gate   sync.Mutex
)

func main() {
	for i := 0; i < sleepers; i++ {
		go sleep(gosite.Count(time.Hour)) // mark: sleepers
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go accept(gosite.Count(ln)) // mark: netread
	jobs := make(chan int)
	go hold(gosite.Count(jobs)) // mark: holder
	for i := 0; i < workers; i++ {
		go work(gosite.Count(jobs)) // mark: workers
	}
	go tick(gosite.Count(time.NewTicker(time.Hour))) // mark: ticker
	go receive(gosite.Count(0)) // mark: global
	gate.Lock()
	go lock(gosite.Count(0)) // mark: gate
	gosite.Finish(sleepers + workers + 5) // netread, holder, ticker, global, gate
}

func sleep(d time.Duration) { time.Sleep(d) }

func accept(ln net.Listener) {
	if c, err := ln.Accept(); err == nil {
		c.Close()
	}
}

// hold keeps jobs for an hour, then lets the workers finish.
func hold(jobs chan int) {
	time.Sleep(time.Hour)
	close(jobs)
}

func work(jobs <-chan int) {
	for range jobs {
	}
}

func tick(t *time.Ticker) {
	for range t.C {
	}
}

func receive(int) { <-events }

func lock(int) {
	gate.Lock()
	gate.Unlock()
}
