//go:build !amd64

package simd

func dotBF16GemmAVX2(n8 int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }
