// mutexleak: an update takes an early-return path that skips Unlock, so every later caller of
// Lock blocks forever; likewise a config reload that returns holding the write lock of an
// RWMutex blocks every reader. Go 1.19 parks both in "semacquire"; 1.21+ names the lock.
package main

import (
	"errors"
	"sync"

	"gorepro/internal/gosite"
)

const (
	updaters = 5
	readers  = 4
)

type store struct {
	mu   sync.Mutex
	data map[string]int
}

var errEmpty = errors.New("empty key")

func (s *store) update(key string, v int) error {
	s.mu.Lock()
	if key == "" {
		return errEmpty // the bug: returns with s.mu held
	}
	s.data[key] = v
	s.mu.Unlock()
	return nil
}

type config struct {
	mu   sync.RWMutex
	vals []int
}

func (c *config) reload(vals []int) {
	c.mu.Lock()
	if len(vals) == 0 {
		return // the bug: returns with the write lock held
	}
	c.vals = vals
	c.mu.Unlock()
}

func (c *config) get() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.vals)
}

func main() {
	s := &store{data: map[string]int{}}
	_ = s.update("a", 1)
	_ = s.update("", 2)
	update := func(i int) { _ = s.update("k", i) }
	for i := 0; i < updaters; i++ {
		go update(gosite.Count(i)) // want leak: 5 x semacquire|sync.Mutex.Lock
	}

	c := &config{}
	c.reload([]int{1, 2})
	c.reload(nil)
	for i := 0; i < readers; i++ {
		go gosite.Count(c).get() // want leak: 4 x semacquire|sync.RWMutex.RLock
	}
	gosite.Finish(updaters + readers)
}
