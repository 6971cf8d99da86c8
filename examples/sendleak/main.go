// sendleak: a query fans out to replicas that answer on an unbuffered channel; the caller
// takes the first answer and returns, so every other replica blocks in its send forever.
package main

import "gorepro/internal/gosite"

const replicas = 8

func query(key int) int {
	answers := make(chan int)
	for r := 0; r < replicas; r++ {
		go replica(gosite.Count(answers), key, r) // want leak: 7 x chan send
	}
	return <-answers
}

func replica(answers chan<- int, key, r int) {
	answers <- key*10 + r
}

func main() {
	_ = query(42)
	gosite.Finish(replicas - 1)
}
