// Command leakpattern leaks or not by a script, not by chance: run k (counted in the file its
// first argument names) leaks one goroutine blocked in a channel send when the k-th character of
// its second argument is '1'. It lets the `gorepro repro --confirm` test say in advance which
// runs reproduce, so which seed is printed, confirmed or not, is known before the test runs.
//
//	leakpattern COUNTER PATTERN     e.g. leakpattern /tmp/n 1011
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: leakpattern COUNTER PATTERN")
		os.Exit(2)
	}
	k := 0
	if b, err := os.ReadFile(os.Args[1]); err == nil {
		k, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if err := os.WriteFile(os.Args[1], []byte(strconv.Itoa(k+1)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pattern := os.Args[2]
	stuck := make(chan int)
	// Only in the runs PATTERN names.
	if k < len(pattern) && pattern[k] == '1' {
		go func() { stuck <- k }() // may leak: 1 x chan send
		// Blocked at exit, not still runnable: wait until the runtime shows it parked.
		buf := make([]byte, 1<<16)
		for i := 0; i < 10000 && !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "[chan send"); i++ {
			time.Sleep(time.Millisecond)
		}
	}
	fmt.Println("run", k)
}
