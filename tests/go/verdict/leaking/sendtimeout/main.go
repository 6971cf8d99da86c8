// sendtimeout: the classic: a caller waits for a worker's answer with a timeout; the answer
// channel is unbuffered, so when the caller has given up, the worker blocks in its send forever.
// (The fix: make(chan int, 1).) To make the ending deterministic the workers are slow by
// construction: they answer only once every caller has timed out.
package main

import (
	"errors"
	"time"

	"gorepro/tests/verdict/internal/vexit"
)

var errTimeout = errors.New("timeout")

func fetch(id int, slow <-chan struct{}, expired <-chan time.Time) (int, error) {
	answer := make(chan int)
	go func() {
		<-slow
		answer <- id * 2 // waits: 4 x chan send -> leaked
	}()
	select {
	case a := <-answer:
		return a, nil
	case <-expired:
		return 0, errTimeout
	}
}

func main() {
	slow := make(chan struct{})
	expired := make(chan time.Time)
	close(expired) // every deadline has already passed
	vexit.Serve(4, func(req int) { _, _ = fetch(req, slow, expired) })
	close(slow)
	vexit.Exit(4)
}
