// sigtest: a program that only works if signals reach it intact — for checking that a tracer
// forwards every signal it intercepts. With GOMAXPROCS(1) a goroutine spins in a loop with no
// function calls, so nothing else runs unless the runtime preempts it asynchronously with
// SIGURG. Meanwhile main sends itself SIGUSR1 through os/signal, one at a time, and forces
// garbage collections (which must stop the spinner too). Prints deterministic counts; exits 0.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	usr1Sends = 5
	gcs       = 3
)

var stop int32

// spin has no calls in its loop: no cooperative preemption point, only SIGURG.
//
//go:noinline
func spin(done chan<- uint64) {
	var n uint64
	for atomic.LoadInt32(&stop) == 0 {
		n++
	}
	done <- n
}

func main() {
	runtime.GOMAXPROCS(1)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)

	done := make(chan uint64)
	go spin(done)
	runtime.Gosched() // let the spinner take the only P

	got := 0
	for i := 0; i < usr1Sends; i++ {
		if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
			fmt.Println("sigtest kill:", err)
			os.Exit(1)
		}
		select {
		case <-usr1:
			got++
		case <-time.After(time.Second):
		}
	}
	for i := 0; i < gcs; i++ {
		runtime.GC()
	}
	atomic.StoreInt32(&stop, 1)
	if spins := <-done; spins == 0 {
		fmt.Println("sigtest: the spinner never ran")
		os.Exit(1)
	}
	signal.Stop(usr1)

	fmt.Println("sigtest preempted ok")
	fmt.Printf("sigtest gc %d\n", gcs)
	fmt.Printf("sigtest usr1 %d/%d\n", got, usr1Sends)
	if got != usr1Sends {
		os.Exit(1)
	}
}
