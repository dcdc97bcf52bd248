//go:build !amd64

package simd

func axpyQ8_0AVX2(nb int, acc *float32, p float32, v *byte) {
	panic("simd: no AVX2 on this architecture")
}

func axpyQ4_0AVX2(nb int, acc *float32, p float32, v *byte) {
	panic("simd: no AVX2 on this architecture")
}
