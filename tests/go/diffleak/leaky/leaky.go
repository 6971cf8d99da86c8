// Package leaky holds the go statements of the diffleak programs. Both builds (diffleak and
// diffleak2) compile this one file, so each go statement has the same function, file and line
// in both binaries while its address differs: what `gorepro diff` must match across builds.
package leaky

const Workers = 4
const Fetches = 5

// Run starts Workers pool goroutines that all finish, then Fetches fetches whose caller gives
// up without reading the answer. With fixed, the answer channel has room for it, so every
// fetch finishes too; without, each fetch blocks in its send forever. It returns how many
// goroutines it leaves behind.
func Run(fixed bool) int {
	done := make(chan int)
	for w := 0; w < Workers; w++ {
		go pool(done, w) // mark: pool
	}
	for w := 0; w < Workers; w++ {
		<-done
	}
	for f := 0; f < Fetches; f++ {
		answer := make(chan int)
		if fixed {
			answer = make(chan int, 1)
		}
		go fetch(answer, f) // want leak: 5 x chan send
	}
	if fixed {
		return 0
	}
	return Fetches
}

func pool(done chan<- int, w int) { done <- w * w }

func fetch(answer chan<- int, f int) { answer <- f + 1 }
