// parkobjects: goroutines blocked on known objects — two channels, a select over two more, a
// Mutex and a WaitGroup — whose addresses the program prints itself, so a test can hold the
// park object gorepro records (and `report` groups by) to the truth: a channel's is its hchan
// (what %p prints for a chan), a semaphore wait's is the address of the sync type's semaphore
// field, found by name through reflect (its layout differs between Go versions). Prints one line
// "object MARK 0xADDR [0xADDR]" per mark, then exits with every one of them still blocked.
package main

import (
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// The address of the first field named one of names inside the struct at p, searched depth
// first through nested structs (sync.Mutex wraps internal/sync.Mutex since Go 1.24).
func fieldAddr(p unsafe.Pointer, t reflect.Type, names ...string) (uintptr, bool) {
	for _, name := range names {
		if a, ok := find(uintptr(p), t, name); ok {
			return a, true
		}
	}
	return 0, false
}

func find(base uintptr, t reflect.Type, name string) (uintptr, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Name == name {
			return base + f.Offset, true
		}
		if f.Type.Kind() == reflect.Struct {
			if a, ok := find(base+f.Offset, f.Type, name); ok {
				return a, true
			}
		}
	}
	return 0, false
}

func main() {
	c1 := make(chan int)
	c2 := make(chan int)
	c3 := make(chan int)
	c4 := make(chan int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	mu.Lock()
	wg.Add(1)
	before := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		go func() { c1 <- 1 }() // mark: send
	}
	for i := 0; i < 2; i++ {
		go func() { <-c2 }() // mark: recv
	}
	for i := 0; i < 2; i++ {
		go func() { // mark: select
			select {
			case <-c3:
			case c4 <- 1:
			}
		}()
	}
	for i := 0; i < 3; i++ {
		go func() { mu.Lock() }() // mark: mutex
	}
	for i := 0; i < 2; i++ {
		go func() { wg.Wait() }() // mark: waitgroup
	}
	for runtime.NumGoroutine() < before+12 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // every one parked
	sema, ok := fieldAddr(unsafe.Pointer(&mu), reflect.TypeOf(&mu).Elem(), "sema")
	if !ok {
		panic("sync.Mutex has no sema field")
	}
	// Go 1.20+: WaitGroup.sema; Go 1.19: state2, the semaphore on 64-bit platforms.
	wsema, ok := fieldAddr(unsafe.Pointer(&wg), reflect.TypeOf(&wg).Elem(), "sema", "state2")
	if !ok {
		panic("sync.WaitGroup has no semaphore field")
	}
	fmt.Printf("object send %p\n", c1)
	fmt.Printf("object recv %p\n", c2)
	fmt.Printf("object select %p %p\n", c3, c4)
	fmt.Printf("object mutex %#x\n", sema)
	fmt.Printf("object waitgroup %#x\n", wsema)
}
