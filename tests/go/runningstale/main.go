// runningstale: a goroutine that is running, on a thread of its own, when the program exits;
// the dead frames below its SP (calls that returned) still hold the channel a leaked sender
// waits on. The leak is real: nothing live can reach that channel, and the GC, which scans a
// running goroutine from its SP, agrees. A scan that does not know the running goroutine's SP
// has to take its whole stack, stale words included, and loses the leak to "may still wake".
//
// It writes the runtime's dump of all goroutines (runtime.Stack(all)) to stderr between
// "gorepro-dump-begin" and "gorepro-dump-end" once the sender has parked, then exits with
// status 0 while the spinner spins.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

var spins uint64

//go:noinline
func hold(a *[64]chan int) int {
	n := 0
	for _, c := range a {
		n += cap(c)
	}
	return n
}

// plant calls itself depth times (a few KiB of frames), then, deepest, makes the channel,
// starts the sender that leaks on it, and fills an address-taken array with it: 64 copies in
// a frame far below where the spinner's loop runs later, out of reach of an asyncPreempt
// frame's registers.
//
//go:noinline
func plant(depth int) int {
	var pad [32]uint64
	if depth > 0 {
		pad[depth%32] = uint64(depth)
		return plant(depth-1) + int(pad[depth%32])
	}
	ch := make(chan int)
	go func() {
		ch <- 1 // the leak: nothing receives, and no live frame holds ch
	}()
	var a [64]chan int
	for i := range a {
		a[i] = ch
	}
	return hold(&a)
}

func spinner(planted chan<- int) {
	planted <- plant(24) // buffered: does not park
	for {
		atomic.AddUint64(&spins, 1)
	}
}

func main() {
	planted := make(chan int, 1)
	go spinner(planted)
	<-planted
	deadline := time.Now().Add(30 * time.Second)
	buf := make([]byte, 1<<16)
	for {
		dump := string(buf[:runtime.Stack(buf, true)])
		if strings.Contains(dump, "[chan send]") {
			fmt.Fprintf(os.Stderr, "gorepro-dump-begin\n%sgorepro-dump-end\n", dump)
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "runningstale: the sender never parked\n%s", dump)
			os.Exit(3)
		}
		time.Sleep(time.Millisecond)
	}
	// Long enough for the spinner, stopped by runtime.Stack, to run again.
	for start := atomic.LoadUint64(&spins); atomic.LoadUint64(&spins)-start < 1000; {
	}
	os.Exit(0)
}
