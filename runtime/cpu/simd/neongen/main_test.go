package main

import (
	"os"
	"testing"
)

// TestGeneratedFileIsCurrent requires ../neon_arm64.s to be what the
// generator writes now: run go generate in runtime/cpu/simd after editing.
func TestGeneratedFileIsCurrent(t *testing.T) {
	have, err := os.ReadFile("../neon_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != Generate() {
		t.Fatal("runtime/cpu/simd/neon_arm64.s is stale: run go generate ./runtime/cpu/simd")
	}
}
