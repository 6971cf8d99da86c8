// globalleak: publishers send on a package-level channel that nobody will ever receive from.
// They leak, but the channel is reachable from a global, so no reachability argument — not the
// Go runtime's goroutineleak profile, not gorepro's scan — can prove it: the mark says
// may_wake, the limit of the method (docs/verdicts.md). Only the history can tell (a site that
// keeps creating goroutines that never wake).
package main

import "gorepro/tests/verdict/internal/vexit"

var events = make(chan string)

func publish(e string) {
	events <- e // waits: 2 x chan send -> may_wake
}

func main() {
	go publish("started")
	go publish("ready")
	vexit.Exit(2)
}
