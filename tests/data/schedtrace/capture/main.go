// Command capture makes the Go runtime print scheduler dumps that show every goroutine status
// class gorepro compares: running (a spinning goroutine), runnable, syscall (a blocking read on a
// raw pipe), waiting with several reasons (including "select (no cases)"), a locked thread, and
// GC activity. Its stderr under GODEBUG=schedtrace=N[,scheddetail=1] is checked in next to it
// (see README.md there); the parser tests read those captures.
package main

import (
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

var sink []byte

func main() {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		panic(err)
	}
	go func() { // _Gsyscall: a read(2) the netpoller does not handle
		buf := make([]byte, 1)
		syscall.Read(fds[0], buf)
	}()
	go func() { select {} }()
	ch := make(chan int)
	go func() { ch <- 1 }()
	go func() { <-make(chan int) }()
	var mu sync.Mutex
	mu.Lock()
	go func() { mu.Lock() }()
	go func() {
		runtime.LockOSThread()
		time.Sleep(time.Hour)
	}()
	stop := make(chan struct{})
	go func() { // running, preempted, runnable
		x := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i := 0; i < 1000; i++ {
				x += i
			}
		}
	}()
	deadline := time.Now().Add(120 * time.Millisecond)
	for time.Now().Before(deadline) {
		sink = make([]byte, 1<<16) // keeps the GC busy
	}
	close(stop)
	os.Exit(0)
}
