// rangeforever: consumers range over a channel the producer never closes; once the producer
// has sent everything and returned, they wait for a next value or a close that never come.
package main

import (
	"strings"

	"gorepro/tests/verdict/internal/vexit"
)

func consume(lines <-chan string, words chan<- int) {
	for l := range lines { // waits: 3 x chan receive -> leaked
		words <- len(strings.Fields(l))
	}
}

func count(text []string) int {
	lines := make(chan string)
	words := make(chan int, len(text))
	for i := 0; i < 3; i++ {
		go consume(lines, words)
	}
	for _, l := range text {
		lines <- l
	}
	// bug: no close(lines)
	total := 0
	for range text {
		total += <-words
	}
	return total
}

func main() {
	vexit.Serve(1, func(int) { _ = count([]string{"a b", "c d e", "f"}) })
	vexit.Exit(3)
}
