// symtest: the Go runtime symbolizes its own PCs, so gorepro's symbolizer can be checked
// against it. At each marked line the program takes a return address with runtime.Callers and
// prints what runtime.CallersFrames makes of it:
//
//	site NAME pc=0x<return address> frames=<fn>@<file>:<line>;<fn>@<file>:<line>...
//
// frames lists the logical frames of that one physical frame, innermost first: one frame for
// an ordinary function, the inlined callee and then its caller for a site inside an inlined
// function. The test symbolizes pc-1 and compares; a "mark: NAME" comment gives the line.
package main

import (
	"fmt"
	"runtime"
	"strings"
)

type site struct {
	pc     uintptr
	frames string
}

// here returns the return address in its caller, i.e. a PC on the caller's line.
//
//go:noinline
func here() site {
	pcs := make([]uintptr, 8)
	n := runtime.Callers(2, pcs)
	pcs = pcs[:n]
	// runtime.Callers gives one PC per logical frame (inlined calls included) and CallersFrames
	// one frame per PC; the frames sharing the first frame's entry are its physical frame.
	frames := runtime.CallersFrames(pcs)
	var parts []string
	var entry uintptr
	for {
		f, more := frames.Next()
		if entry == 0 {
			entry = f.Entry
		} else if f.Entry != entry {
			break
		}
		parts = append(parts, fmt.Sprintf("%s@%s:%d", f.Function, f.File, f.Line))
		if f.Func != nil || !more { // the physical (non-inlined) frame ends the chain
			break
		}
	}
	return site{pcs[0], strings.Join(parts, ";")}
}

//go:noinline
func plain() site {
	return here() // mark: plain
}

// inlinedLeaf is small enough that the compiler inlines it into every caller
// (go build -gcflags=-m: "inlining call to inlinedLeaf").
func inlinedLeaf() site {
	return here() // mark: inlined
}

//go:noinline
func callsInlined() site {
	return inlinedLeaf() // mark: inlined_caller
}

type counter struct{ n int }

//go:noinline
func (c *counter) method() site {
	c.n++
	return here() // mark: method
}

// call keeps the closure below a real function (main.closureOwner.func1), not inlined.
//
//go:noinline
func call(f func() site) site { return f() }

//go:noinline
func closureOwner() site {
	return call(func() site {
		return here() // mark: closure
	})
}

func main() {
	report := func(name string, s site) {
		fmt.Printf("site %s pc=%#x frames=%s\n", name, s.pc, s.frames)
	}
	report("plain", plain())
	report("inlined", callsInlined())
	report("method", (&counter{}).method())
	report("closure", closureOwner())
}
