//go:build !amd64

package simd

func dotQ4_1AVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotQ5_1AVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotF16GemmAVX2(n8 int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotF32GemmAVX2(n8 int, x, y *float32) float32 { panic("simd: no AVX2 on this architecture") }
