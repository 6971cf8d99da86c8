// Package vexit ends every verdict program (tests/go/verdict) in the state its `// waits:` marks
// describe, and hands that state to the witnesses that are not gorepro:
//
//   - GOREPRO_VERDICT_SELFCHECK=1: the runtime's dump of all goroutines (runtime.Stack(all)),
//     taken once exactly `blocked` goroutines besides main exist and all are parked, is written
//     to stderr between "gorepro-dump-begin" and "gorepro-dump-end" lines.
//   - GOREPRO_VERDICT_LEAKPROFILE=1: the runtime's goroutineleak profile (Go 1.27; Go 1.26 only
//     under GOEXPERIMENT=goroutineleakprofile) is requested after that and written with debug=2
//     between "gorepro-leakprofile-begin" and "gorepro-leakprofile-end": every goroutine's
//     stack, a leaked one's header saying "(leaked)". Where the runtime has no such profile the
//     program writes "gorepro-leakprofile: none" instead.
//
// The program then exits through os.Exit(0) from inside Exit, so that what `keep` holds is still
// referenced by a live frame when the process exits: that is how a program says "main still
// holds this channel" both to the runtime's leak detector and to a tracer that judges the
// goroutines at exit_group.
package vexit

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"gorepro/internal/gosite"
)

// Exit waits for the exit state (gosite.Settle), writes what the environment asks for, and
// exits with status 0. It never returns.
func Exit(blocked int, keep ...any) {
	dump := gosite.Settle(blocked)
	if os.Getenv("GOREPRO_VERDICT_SELFCHECK") == "1" {
		fmt.Fprintf(os.Stderr, "gorepro-dump-begin\n%sgorepro-dump-end\n", dump)
	}
	if os.Getenv("GOREPRO_VERDICT_LEAKPROFILE") == "1" {
		if p := pprof.Lookup("goroutineleak"); p == nil {
			fmt.Fprintln(os.Stderr, "gorepro-leakprofile: none")
		} else {
			fmt.Fprintln(os.Stderr, "gorepro-leakprofile-begin")
			if err := p.WriteTo(os.Stderr, 2); err != nil {
				fmt.Fprintln(os.Stderr, "gorepro-leakprofile: error:", err)
				os.Exit(4)
			}
			fmt.Fprintln(os.Stderr, "gorepro-leakprofile-end")
		}
	}
	os.Exit(0)
	// After the call, so that keep is live across it: the compiler does not know that os.Exit
	// never returns, so its stack map at the call counts keep, and a scan at exit_group that
	// follows the stack maps (as gorepro's does) finds it as the GC would.
	runtime.KeepAlive(keep)
}

// Serve runs handler once per request, each in its own goroutine as a server would, and returns
// when every handler has returned. What a handler leaves behind is reachable from no live
// frame afterwards: its goroutine and stack are gone.
func Serve(requests int, handler func(req int)) {
	done := make(chan struct{})
	for r := 0; r < requests; r++ {
		go func(r int) {
			handler(r)
			done <- struct{}{}
		}(r)
	}
	for r := 0; r < requests; r++ {
		<-done
	}
}
