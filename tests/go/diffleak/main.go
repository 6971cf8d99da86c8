// diffleak: the leaking and the fixed variant of one program, for `gorepro diff` tests. Without
// flags the fetches in leaky.Run leak (5 x chan send, marked there); with -fixed nothing leaks.
// Same binary, two runs: the sites match trivially. v2/ is a second build of the same
// leaky package with other code around it (different addresses, same file:line).
package main

import (
	"flag"
	"fmt"

	"gorepro/internal/gosite"
	"gorepro/tests/go/diffleak/leaky"
)

func main() {
	fixed := flag.Bool("fixed", false, "give every fetch room for its answer: nothing leaks")
	flag.Parse()
	leaked := leaky.Run(*fixed)
	gosite.Settle(leaked)
	fmt.Printf("diffleak: leaked %d\n", leaked)
}
