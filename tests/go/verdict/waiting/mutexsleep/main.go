// mutexsleep: a goroutine holds a mutex across a long sleep (a slow refresh); others wait to
// Lock it. They wake when the sleeper wakes and unlocks: the mutex is reachable from the
// sleeper's stack, and the sleeper waits on time.
package main

import (
	"sync"
	"time"

	"gorepro/tests/verdict/internal/vexit"
)

type store struct {
	mu   sync.Mutex
	data map[string]int
}

func (s *store) refresh(locked chan<- struct{}) {
	s.mu.Lock()
	locked <- struct{}{}
	time.Sleep(time.Hour) // waits: 1 x sleep -> time_io
	s.data = map[string]int{}
	s.mu.Unlock()
}

func (s *store) get(k string) int {
	s.mu.Lock() // waits: 2 x semacquire|sync.Mutex.Lock -> may_wake
	defer s.mu.Unlock()
	return s.data[k]
}

func main() {
	vexit.Serve(1, func(int) {
		s := &store{}
		locked := make(chan struct{})
		go s.refresh(locked)
		<-locked
		go s.get("a")
		go s.get("b")
	})
	vexit.Exit(3)
}
