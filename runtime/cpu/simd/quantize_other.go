//go:build !amd64

package simd

func quantQ8_0AVX2(nb int, src *float32, dst *byte) { panic("simd: no AVX2 on this architecture") }

func quantQ8KAVX2(nb int, src *float32, dst *byte) { panic("simd: no AVX2 on this architecture") }
