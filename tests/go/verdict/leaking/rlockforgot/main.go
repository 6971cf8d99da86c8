// rlockforgot: a reload that fails returns holding the write lock of an RWMutex; every reader
// after it waits in RLock forever.
package main

import (
	"errors"
	"sync"

	"gorepro/tests/verdict/internal/vexit"
)

type config struct {
	mu   sync.RWMutex
	vals map[string]string
}

func (c *config) reload(data string) error {
	c.mu.Lock()
	if data == "" {
		return errors.New("empty config") // bug: returns without c.mu.Unlock()
	}
	c.vals = map[string]string{"k": data}
	c.mu.Unlock()
	return nil
}

func (c *config) get(k string) string {
	c.mu.RLock() // waits: 3 x semacquire|sync.RWMutex.RLock -> leaked
	defer c.mu.RUnlock()
	return c.vals[k]
}

func main() {
	vexit.Serve(1, func(int) {
		c := &config{vals: map[string]string{}}
		_ = c.reload("")
		for i := 0; i < 3; i++ {
			go c.get("k")
		}
	})
	vexit.Exit(3)
}
