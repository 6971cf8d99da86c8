// pprofleak: leaks goroutines blocked in four different ways, then — at the marked instant,
// once every one of them has blocked — writes its own runtime/pprof goroutine profile
// (debug=0) to the file $GOREPRO_PPROF_OUT names, and exits. The export tests hold
// `gorepro export --format pprof` at the end of a recording of it against that profile.
//
// The leaking functions are not inlined so that each stack is the same few frames whatever
// the toolchain's inliner decides.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"
)

//go:noinline
func sendForever(ch chan int, started *sync.WaitGroup) {
	started.Done()
	ch <- 1
}

//go:noinline
func receiveForever(ch chan int, started *sync.WaitGroup) {
	started.Done()
	<-ch
}

//go:noinline
func receiveNested(ch chan int, started *sync.WaitGroup) {
	receiveForever(ch, started)
}

//go:noinline
func lockForever(mu *sync.Mutex, started *sync.WaitGroup) {
	started.Done()
	mu.Lock()
}

//go:noinline
func selectForever(a, b chan int, started *sync.WaitGroup) {
	started.Done()
	select {
	case <-a:
	case b <- 1:
	}
}

func main() {
	var started sync.WaitGroup
	send := make(chan int)
	recv := make(chan int)
	var mu sync.Mutex
	mu.Lock()
	a, b := make(chan int), make(chan int)

	started.Add(5 + 3 + 4 + 2)
	for i := 0; i < 5; i++ {
		go sendForever(send, &started)
	}
	for i := 0; i < 3; i++ {
		go receiveNested(recv, &started)
	}
	for i := 0; i < 4; i++ {
		go lockForever(&mu, &started)
	}
	for i := 0; i < 2; i++ {
		go selectForever(a, b, &started)
	}
	started.Wait()
	// Done() comes just before each blocks: give the last ones time to park.
	time.Sleep(300 * time.Millisecond)

	// The marked instant: every leaked goroutine is blocked.
	if path := os.Getenv("GOREPRO_PPROF_OUT"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.Lookup("goroutine").WriteTo(f, 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		f.Close()
	}
	fmt.Println("leaked 14")
}
