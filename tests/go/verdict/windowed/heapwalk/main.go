// heapwalk: for the verdict scan's windows (tests/verdict, VerdictWindows). A heap of ~5 MiB of
// 128-byte nodes whose pointers jump back and forth across it, and three channels that only a
// long walk reaches: global head → a chain of 2048 nodes linked in shuffled address order → a
// 64 KiB pointer array (a large object, a span of its own) → 2048 more shuffled nodes → the
// channel three goroutines wait on. Three other goroutines send on channels held only by chains
// nothing reaches. Read with small windows (GOREPRO_VERDICT_WINDOW_KIB=64), the walk crosses the
// windows hundreds of times, and the verdicts must be the same as with one window.
package main

import (
	"runtime"

	"gorepro/tests/verdict/internal/vexit"
)

type node struct {
	next *node
	kid  *node
	big  *[8192]*node
	ch   chan int
	pad  [12]uint64
}

var (
	head *node   // the walk to the waiters' channel starts here
	bulk []*node // the rest: each node's kid a random other one of them
)

// A deterministic shuffle (an LCG): the same heap every run, on every Go version.
type lcg uint64

func (r *lcg) intn(n int) int {
	*r = *r*6364136223846793005 + 1442695040888963407
	return int(uint64(*r>>33) % uint64(n))
}

func shuffled(nodes []*node, r *lcg) []*node {
	out := append([]*node(nil), nodes...)
	for i := len(out) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func link(chain []*node) {
	for i := 0; i+1 < len(chain); i++ {
		chain[i].next = chain[i+1]
	}
}

// Its channel is reachable only through the walk from head.
func waiter(ch chan int) {
	<-ch // waits: 3 x chan receive -> may_wake
}

func leaker(ch chan int) {
	ch <- 1 // waits: 3 x chan send -> leaked
}

// build allocates the walk and the bulk interleaved (so that the walk's nodes lie among the
// bulk's in memory) and starts the waiters; what it leaves on its stack goes with its goroutine.
func build() {
	r := lcg(1)
	const n = 36864
	all := make([]*node, n)
	for i := range all {
		all[i] = &node{}
	}
	order := shuffled(all, &r)
	first, second, rest := order[:2048], order[2048:4096], order[4096:]
	link(first)
	link(second)
	arr := new([8192]*node)
	arr[len(arr)-1] = second[0]
	first[len(first)-1].big = arr
	ch := make(chan int)
	second[len(second)-1].ch = ch
	for _, b := range rest {
		b.kid = rest[r.intn(len(rest))]
	}
	head, bulk = first[0], rest
	for i := 0; i < 3; i++ {
		go waiter(ch)
	}
}

// garbage leaves a goroutine sending on a channel that only an unreachable chain holds.
func garbage(req int) {
	r := lcg(100 + req)
	chain := make([]*node, 1024)
	for i := range chain {
		chain[i] = &node{}
	}
	chain = shuffled(chain, &r)
	link(chain)
	ch := make(chan int)
	chain[len(chain)-1].ch = ch
	go leaker(ch)
}

// Noscan memory allocated last: the runtime's own words about where the heap ends (mheap_'s
// current arena, its page allocator's search address) point past it, not into a chain, where a
// conservative scan would take them for pointers.
var tail []byte

func main() {
	vexit.Serve(3, garbage)
	runtime.GC() // the garbage chains' memory is free for build's nodes
	vexit.Serve(1, func(int) { build() })
	tail = make([]byte, 1<<20)
	vexit.Exit(6)
}
