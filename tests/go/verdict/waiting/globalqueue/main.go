// globalqueue: consumers of a package-level work queue wait for the next task; any code in the
// program can still send one.
package main

import "gorepro/tests/verdict/internal/vexit"

var work = make(chan func())

func consumer() {
	for f := range work { // waits: 2 x chan receive -> may_wake
		f()
	}
}

func main() {
	for i := 0; i < 2; i++ {
		go consumer()
	}
	done := make(chan struct{})
	work <- func() { close(done) }
	<-done
	vexit.Exit(2)
}
