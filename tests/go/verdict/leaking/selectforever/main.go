// selectforever: a worker that, its job done, "parks" itself with an empty select to keep
// some resource alive — a goroutine that can never wake by construction.
package main

import "gorepro/tests/verdict/internal/vexit"

func serve(id int, started chan<- int) {
	started <- id
	select {} // waits: 2 x select (no cases) -> leaked
}

func main() {
	started := make(chan int)
	for i := 0; i < 2; i++ {
		go serve(i, started)
		<-started
	}
	vexit.Exit(2)
}
