package simd

import "golang.org/x/sys/cpu"

// useAVX2 needs FMA for the accumulation and F16C for the block scales.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// dotQ8_0AVX2 accumulates nb blocks of 34 bytes (fp16 scale, 32 int8).
//
//go:noescape
func dotQ8_0AVX2(nb int, w, x *byte) float32

// dotF32AVX2 returns the reduced 4×8-lane FMA sum over n32 steps of 32 floats.
//
//go:noescape
func dotF32AVX2(n32 int, x, y *float32) float32

// axpyFMAAVX2 does acc[i] = fma(p, v[i], acc[i]) for n8 groups of 8.
//
//go:noescape
func axpyFMAAVX2(n8 int, p float32, v, acc *float32)

// swigluAVX2 computes y = silu(g)*u for n8 groups of 8 (|g| < 87).
//
//go:noescape
func swigluAVX2(n8 int, y, gate, up *float32)

// expSubAVX2 sets y[i] = expf(y[i]-m) for n8 groups of 8 (y[i]-m > -87).
//
//go:noescape
func expSubAVX2(n8 int, y *float32, m float32)

// dotQ8_0x4AVX2 writes the dots of four Q8_0 rows (stride bytes apart) with x to out[0:4].
//
//go:noescape
func dotQ8_0x4AVX2(nb int, w *byte, stride int, x *byte, out *float32)

//go:noescape
func dotQ4_0AVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ5_0AVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ4_0x4AVX2(nb int, w *byte, stride int, x *byte, out *float32)

//go:noescape
func dotF16AVX2(n32 int, w, x *byte) float32
