// labelleak: a service tags every request with a pprof label naming its handler
// (pprof.Do(ctx, pprof.Labels("handler", kind), ...)), and every handler starts the same fetch
// goroutine, which hands its answer over an unbuffered channel. Only the "slow" handler leaks:
// its budget is spent before it waits, so it returns without reading the answer and its fetch
// blocks in the send forever. Grouped by `go` statement the leak is one line shared by every
// request; grouped by the handler label (`gorepro report --group-by label:handler`) it is the
// slow handler's alone. The fetch goroutines inherit the label from the handler that starts
// them (the runtime copies g.labels at creation); the handlers themselves get it from pprof.Do
// (SetGoroutineLabels).
package main

import (
	"context"
	"runtime/pprof"
	"sync"
	"time"

	"gorepro/internal/gosite"
)

// The requests, in arrival order: 3 slow among 8.
var requests = []string{"ok", "slow", "ok", "ok", "slow", "ok", "slow", "ok"}

func main() {
	var served sync.WaitGroup
	slow := 0
	for _, kind := range requests {
		if kind == "slow" {
			slow++
		}
		served.Add(1)
		go serve(gosite.Count(kind), &served) // returns once its request is answered or abandoned
	}
	served.Wait()
	gosite.Finish(slow)
}

func serve(kind string, served *sync.WaitGroup) {
	defer served.Done()
	pprof.Do(context.Background(), pprof.Labels("handler", kind), func(ctx context.Context) {
		handle(ctx, kind)
	})
}

func handle(ctx context.Context, kind string) {
	budget := time.Second
	if kind == "slow" {
		budget = 0 // spent by the time it gets here
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	result := make(chan string) // unbuffered: the sender waits for a reader
	go fetch(gosite.Count(result), kind) // want leak: 3 x chan send
	if ctx.Err() != nil {
		return // over budget: nobody will ever read result
	}
	<-result
}

func fetch(result chan<- string, kind string) {
	result <- "answer for " + kind
}
