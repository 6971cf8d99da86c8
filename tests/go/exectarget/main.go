// exectarget: a Go program that starts a child process (-mode child) or replaces itself with
// another program (-mode exec), for the tests of how gorepro treats both: children run
// untraced and the recording goes on; an exec ends the recording, and the new image runs on.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	mode := flag.String("mode", "child", "child or exec")
	target := flag.String("exec", "", "with -mode exec: the program to become (default: a shell)")
	flag.Parse()
	done := make(chan string)
	go func() { done <- "worker done" }()
	fmt.Println(<-done)
	switch *mode {
	case "child":
		out, err := exec.Command("/bin/echo", "child says hello").Output()
		if err != nil {
			fmt.Println("child failed:", err)
			os.Exit(1)
		}
		fmt.Print(string(out))
		fmt.Println("parent done")
	case "exec":
		argv := []string{"sh", "-c", "echo replaced by exec; exit 3"}
		path := "/bin/sh"
		if *target != "" {
			path, argv = *target, []string{*target}
		}
		err := syscall.Exec(path, argv, os.Environ())
		fmt.Println("exec failed:", err)
		os.Exit(1)
	}
}
