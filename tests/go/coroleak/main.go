// Command coroleak uses Go 1.23 coroutines (iter.Pull): -full pulls read to the end, -early
// are stopped after one value, and -leak are read once and never stopped — their goroutines
// wait in coroutine switch forever. Coroutine goroutines are created parked, switch with no
// gopark or ready, and end without goexit1; the test checks gorepro sees all of it. Built by
// older toolchains it only says so (coro_old.go).
package main

import (
	"flag"
	"fmt"
	"time"
)

func main() {
	full := flag.Int("full", 40, "pulls read to the end")
	early := flag.Int("early", 40, "pulls stopped after one value")
	leak := flag.Int("leak", 7, "pulls read once and never stopped")
	hold := flag.Duration("hold", 60*time.Millisecond, "how long to stay up with the leaked pulls")
	flag.Parse()
	if !run(*full, *early, *leak) {
		fmt.Println("coroleak: no coroutines before go1.23")
		return
	}
	time.Sleep(*hold)
	fmt.Println("coroleak leaked", *leak)
}
