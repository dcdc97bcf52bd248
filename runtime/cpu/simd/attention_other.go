//go:build !amd64

package simd

func scoresF32AVX2(n, hd32 int, q, k *float32, kstride int, s *float32, scale float32) {
	panic("simd: no AVX2 on this architecture")
}

func axpyLanesAVX2(n, hd8 int, lanes, p, v *float32, vstride, j0 int) {
	panic("simd: no AVX2 on this architecture")
}
