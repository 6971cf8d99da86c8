// Command stderrwriter writes heavily to its stderr while goroutines come and go, for the test
// that `gorepro record --schedtrace` leaves a program's stderr byte-identical: text lines,
// lines that look like the runtime's ("SCHED 1ms: ..."), binary chunks of every size from 1
// byte to well over a pipe's buffer, and text without a final newline. The bytes depend only
// on a fixed seed, so two runs write the same stream.
package main

import (
	"fmt"
	"math/rand"
	"os"
	"sync"
	"time"
)

func main() {
	rng := rand.New(rand.NewSource(42))
	var wg sync.WaitGroup
	for i := 0; i < 1000; i++ { // a fixed count, so the stream does not depend on timing
		switch i % 5 {
		case 0:
			fmt.Fprintf(os.Stderr, "line %d: the quick brown fox\n", i)
		case 1:
			fmt.Fprintf(os.Stderr, "SCHED %dms: gomaxprocs=1 idleprocs=0 not the runtime's\n", i)
		case 2:
			buf := make([]byte, 1+rng.Intn(1<<17))
			rng.Read(buf)
			os.Stderr.Write(buf)
		case 3:
			os.Stderr.Write([]byte{'S'})
			os.Stderr.Write([]byte("CHED partial, no newline"))
		case 4:
			ch := make(chan int)
			wg.Add(2)
			go func() { defer wg.Done(); ch <- i }()
			go func() { defer wg.Done(); <-ch }()
		}
		if i%10 == 0 { // >= 100 ms in all: several scheduler dumps
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	os.Stderr.Write([]byte("end without newline"))
}
