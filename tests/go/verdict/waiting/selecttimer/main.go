// selecttimer: goroutines wait for a message or a timeout, whichever comes first; the
// timeout is an hour away and main still holds the inbox.
package main

import (
	"time"

	"gorepro/tests/verdict/internal/vexit"
)

func await(inbox <-chan string) string {
	select { // waits: 2 x select -> time_io|may_wake
	case m := <-inbox:
		return m
	case <-time.After(time.Hour):
		return "timeout"
	}
}

func main() {
	inbox := make(chan string)
	for i := 0; i < 2; i++ {
		go await(inbox)
	}
	vexit.Exit(2, inbox)
}
