// condforgot: a batch's workers wait on a sync.Cond for the coordinator's "start"; the
// coordinator finds an invalid job after starting them and returns without Broadcast, dropping
// the only reference to the batch — nothing can ever signal that Cond again.
package main

import (
	"errors"
	"sync"
	"sync/atomic"

	"gorepro/tests/verdict/internal/vexit"
)

type batch struct {
	mu      sync.Mutex
	ready   *sync.Cond
	started bool
	total   int64
}

func (b *batch) work(n int) {
	b.mu.Lock()
	for !b.started {
		b.ready.Wait() // waits: 3 x sync.Cond.Wait -> leaked
	}
	b.mu.Unlock()
	atomic.AddInt64(&b.total, int64(n))
}

func run(jobs []int) error {
	b := &batch{}
	b.ready = sync.NewCond(&b.mu)
	for _, j := range jobs {
		go b.work(j)
	}
	for _, j := range jobs {
		if j < 0 {
			return errors.New("negative job") // bug: the workers are never started
		}
	}
	b.mu.Lock()
	b.started = true
	b.ready.Broadcast()
	b.mu.Unlock()
	return nil
}

func main() {
	vexit.Serve(1, func(int) { _ = run([]int{1, 2, -3}) })
	vexit.Exit(3)
}
