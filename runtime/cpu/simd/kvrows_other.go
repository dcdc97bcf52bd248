//go:build !amd64

package simd

func axpyQ8_0AVX2(nb int, acc *float32, p float32, v *byte) {
	panic("simd: no AVX2 on this architecture")
}

func axpyQ4_0AVX2(nb int, acc *float32, p float32, v *byte) {
	panic("simd: no AVX2 on this architecture")
}

func scoresF16AVX2(n, hd32 int, q, k *byte, kstride int, s *float32) {
	panic("simd: no AVX2 on this architecture")
}

func axpyLanesF16AVX2(n, hd8 int, lanes, p *float32, v *byte, vstride, j0 int) {
	panic("simd: no AVX2 on this architecture")
}
