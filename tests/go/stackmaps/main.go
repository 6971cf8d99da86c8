// stackmaps: functions whose stack maps (the GC's view of their frames) follow from their source,
// for the stack-map decoder's tests (tests/dwarf/stackmap_test.cpp). Each is go:noinline so that
// it has a frame of its own; what a test expects is written beside each.
package main

import "os"

var sinkInt int

//go:noinline
func spin(n int) int { return n*7 + len(os.Args) }

//go:noinline
func newInt() *int { return &sinkInt }

// holdsOne: p is live across the first call to spin only (it must be saved on the stack: Go's
// ABI has no callee-saved registers), and is the function's only pointer: its locals maps have
// at most one bit set, and one of them has it.
//
//go:noinline
func holdsOne() int {
	p := newInt()
	a := spin(1)
	b := *p + a
	return spin(b)
}

// noPointers: ints only; its locals maps have no bit set.
//
//go:noinline
func noPointers(n int) int {
	a := spin(n)
	b := spin(a)
	return a + b
}

type ptrFirst struct {
	p *int
	n int
}

//go:noinline
func look(arr *[4]*int, pf *ptrFirst) int { return *arr[0] + pf.n }

// objects: two address-taken variables that hold pointers and stay on the stack (look keeps
// neither pointer): two stack objects, [4]*int (32 bytes, all of them may hold pointers) and
// ptrFirst (16 bytes, pointers in the first 8 only).
//
//go:noinline
func objects() int {
	var arr [4]*int
	var pf ptrFirst
	arr[0] = newInt()
	pf.p = arr[0]
	pf.n = spin(2)
	return look(&arr, &pf)
}

func main() {
	sinkInt = holdsOne() + noPointers(3) + objects()
	if sinkInt == 0 {
		os.Exit(1)
	}
}
