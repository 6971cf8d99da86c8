// capture: the program tests/data/gdbmi/capture.py runs under gdb to record real GDB/MI output:
// a string full of bytes gdb must escape (non-ASCII, control characters, quotes), a few
// goroutines (several threads), and a function to stop in.
package main

import (
	"fmt"
	"time"
)

func worker(c chan string, i int) {
	c <- fmt.Sprintf("worker %d \"quoted\"\ttab", i)
}

//go:noinline
func stop(label string, n int) int {
	time.Sleep(time.Millisecond)
	return len(label) + n
}

func main() {
	label := "naïve café ☕ \x01\x1b\x7f\x9b\\ end\n"
	c := make(chan string)
	for i := 0; i < 3; i++ {
		go worker(c, i)
	}
	fmt.Println(<-c, <-c, <-c)
	fmt.Println(stop(label, 3))
}
