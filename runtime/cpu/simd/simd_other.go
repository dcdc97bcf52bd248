//go:build !amd64

package simd

const useAVX2 = false

func dotQ8_0AVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }
