// nestedleak: leaks two and three levels down. main starts sessions; each session starts
// streams that push to an unbuffered channel the session reads only once, so all streams but
// one per session block in their send; each stream first starts a heartbeat that parks on an
// empty select. Odd sessions then wait for a shutdown that never comes, their channel dead; even
// sessions return, leaving their streams behind — leaked goroutines whose creator is dead.
package main

import (
	"sync"

	"gorepro/internal/gosite"
)

const (
	sessions = 4
	streams  = 5
)

var shutdown = make(chan struct{}) // never closed

func main() {
	var started sync.WaitGroup
	started.Add(sessions * streams)
	for s := 0; s < sessions; s++ {
		go session(gosite.Count(s), &started) // want leak: 2 x chan receive -> may_wake (the odd sessions wait on the global main.shutdown)
	}
	started.Wait()
	leaked := sessions/2 + sessions*(streams-1) + sessions*streams
	gosite.Finish(leaked)
}

func session(id int, started *sync.WaitGroup) {
	items := make(chan int)
	for i := 0; i < streams; i++ {
		go stream(gosite.Count(items), started) // want leak: 16 x chan send
	}
	<-items // reads one item and stops; four more streams of this session stay in their send
	if id%2 == 1 {
		<-shutdown
	}
}

func stream(items chan<- int, started *sync.WaitGroup) {
	go heartbeat(gosite.Count(started)) // want leak: 20 x select (no cases)
	items <- 1
}

func heartbeat(started *sync.WaitGroup) {
	started.Done()
	select {} // mark: heartbeat-select
}
