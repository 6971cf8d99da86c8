//go:build !go1.23

package main

func run(full, early, leak int) bool { return false }
