// doublelock: getOrFill holds the cache's mutex and calls get, which locks it again: sync.Mutex
// is not reentrant, so the goroutine waits for itself forever.
package main

import (
	"sync"

	"gorepro/tests/verdict/internal/vexit"
)

type cache struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *cache) get(k string) int {
	c.mu.Lock() // waits: 2 x semacquire|sync.Mutex.Lock -> leaked
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *cache) getOrFill(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		return v
	}
	c.m[k] = len(k)
	return c.get(k) // bug: get locks c.mu again
}

func main() {
	vexit.Serve(2, func(int) {
		c := &cache{m: map[string]int{}}
		go c.getOrFill("key")
	})
	vexit.Exit(2)
}
