// deadslot: a goroutine that can still wake once held, in a local, the channel a leaked sender
// waits on; by the time it parks the local is dead, but its stack slot still holds the channel's
// address. The GC's stack maps (and so the runtime's goroutineleak profile) know the slot is
// dead; a conservative stack scan takes the stale word for a pointer and loses the leak to
// may_wake.
package main

import "gorepro/tests/verdict/internal/vexit"

// The waiter's own wait: a global, so that it may still wake.
var wake = make(chan struct{})

//go:noinline
func use(c chan int) int { return cap(c) }

func waiter() {
	c := make(chan int)
	go func() {
		c <- 1 // waits: 1 x chan send -> leaked
	}()
	// c is live across the first call, so it is saved in a stack slot; after the second it is
	// dead, and nothing writes that slot again before the receive below parks.
	n := use(c)
	n += use(c)
	<-wake // waits: 1 x chan receive -> may_wake
	wake <- struct{}{}
	_ = n
}

func main() {
	go waiter()
	vexit.Exit(2)
}
