// nilchan: a pipeline stage built by a constructor that forgot to make its output and error
// channels: sending on, or receiving from, a nil channel blocks forever.
package main

import "gorepro/tests/verdict/internal/vexit"

type stage struct {
	in   chan int
	out  chan int   // bug: never made
	errs chan error // bug: never made
}

func (s *stage) run() {
	for v := range s.in {
		s.out <- v * 2 // waits: 1 x chan send (nil chan) -> leaked
	}
}

func (s *stage) report() error {
	return <-s.errs // waits: 1 x chan receive (nil chan) -> leaked
}

func newStage() *stage {
	return &stage{in: make(chan int, 1)}
}

func main() {
	vexit.Serve(1, func(int) {
		s := newStage()
		s.in <- 1
		go s.run()
		go s.report()
	})
	vexit.Exit(2)
}
