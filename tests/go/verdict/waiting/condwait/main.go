// condwait: consumers wait on a sync.Cond for items in a queue that lives in a global; any
// producer can still Signal it.
package main

import (
	"sync"

	"gorepro/tests/verdict/internal/vexit"
)

type queue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	items []int
}

var q = newQueue()

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) take() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 {
		q.cond.Wait() // waits: 2 x sync.Cond.Wait -> may_wake
	}
	it := q.items[0]
	q.items = q.items[1:]
	return it
}

func main() {
	for i := 0; i < 2; i++ {
		go q.take()
	}
	vexit.Exit(2)
}
