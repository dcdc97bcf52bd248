package simd

import "golang.org/x/sys/cpu"

// turboDot4AVX2 returns kvquant.TurboDot's unscaled sum over n16 groups of 16 4-bit codes.
//
//go:noescape
func turboDot4AVX2(n16 int, codes *byte, q *float32, cb *float32) float32

// axpyF16AVX2 does acc[i] = fma(p, f16(v[i]), acc[i]) for n8 groups of 8.
//
//go:noescape
func axpyF16AVX2(n8 int, p float32, v *byte, acc *float32)

// turboScores4AVX2 writes out[j] = TurboDot(4, key j, q) for nkeys keys stride bytes apart.
//
//go:noescape
func turboScores4AVX2(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32)

// turboScores3AVX2 is turboScores4AVX2 for 3-bit codes (n32 groups of 32 coordinates).
//
//go:noescape
func turboScores3AVX2(nkeys, n32 int, keys *byte, stride int, q, cb, out *float32)

// turboScores5AVX2 is turboScores4AVX2 for 5-bit codes.
//
//go:noescape
func turboScores5AVX2(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32)

// turboScores4AVX512 is turboScores4AVX2 with one 16-entry VPERMI2PS lookup
// per code vector (AVX-512VL).
//
//go:noescape
func turboScores4AVX512(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32)

// useTurbo512 picks turboScores4AVX512.
var useTurbo512 = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

// turboScores4x8AVX512 is turboScores4AVX512 over n8 groups of 8 keys, the
// eight reductions done together.
//
//go:noescape
func turboScores4x8AVX512(n8, n16 int, keys *byte, stride int, q, cb, out *float32)
