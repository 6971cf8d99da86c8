// sleepers: background goroutines that sleep between rounds of work; the program ends while
// they sleep. Not a leak: each wakes when its timer fires.
package main

import (
	"time"

	"gorepro/tests/verdict/internal/vexit"
)

func refresher(started chan<- struct{}) {
	started <- struct{}{}
	for {
		time.Sleep(time.Hour) // waits: 3 x sleep -> time_io
	}
}

func main() {
	started := make(chan struct{})
	for i := 0; i < 3; i++ {
		go refresher(started)
		<-started
	}
	vexit.Exit(3)
}
