//go:build !amd64

package simd

func turboDot4AVX2(n16 int, codes *byte, q *float32, cb *float32) float32 {
	panic("simd: no AVX2 on this architecture")
}

func axpyF16AVX2(n8 int, p float32, v *byte, acc *float32) {
	panic("simd: no AVX2 on this architecture")
}

func turboScores4AVX2(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32) {
	panic("simd: no AVX2 on this architecture")
}

func turboScores3AVX2(nkeys, n32 int, keys *byte, stride int, q, cb, out *float32) {
	panic("simd: no AVX2 on this architecture")
}

func turboScores5AVX2(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32) {
	panic("simd: no AVX2 on this architecture")
}

const useTurbo512 = false

func turboScores4AVX512(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32) {
	panic("simd: no AVX-512 on this architecture")
}

func turboScores4x8AVX512(n8, n16 int, keys *byte, stride int, q, cb, out *float32) {
	panic("simd: no AVX-512 on this architecture")
}
