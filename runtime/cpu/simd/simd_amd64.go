package simd

import "golang.org/x/sys/cpu"

// useAVX2 needs FMA for the accumulation and F16C for the block scales.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// dotQ8_0AVX2 accumulates nb blocks of 34 bytes (fp16 scale, 32 int8).
//
//go:noescape
func dotQ8_0AVX2(nb int, w, x *byte) float32
