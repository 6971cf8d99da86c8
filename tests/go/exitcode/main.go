// Command exitcode ends with status 7 after writing fixed bytes to stdout and stderr from a few
// goroutines, for the test that `gorepro repro` leaves a program's output and exit status its own.
package main

import (
	"fmt"
	"os"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	lines := make(chan string)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			lines <- fmt.Sprintf("worker %d done", i)
		}(i)
	}
	go func() { wg.Wait(); close(lines) }()
	n := 0
	for range lines {
		n++
	}
	fmt.Printf("%d workers reported\n", n)
	fmt.Fprint(os.Stderr, "exiting with status 7 (no final newline)")
	os.Exit(7)
}
