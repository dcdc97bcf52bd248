package simd

// axpyQ8_0AVX2 does acc[i] = fma(p, v̂[i], acc[i]) over nb Q8_0 blocks of v.
//
//go:noescape
func axpyQ8_0AVX2(nb int, acc *float32, p float32, v *byte)

// axpyQ4_0AVX2 is axpyQ8_0AVX2 for Q4_0 blocks.
//
//go:noescape
func axpyQ4_0AVX2(nb int, acc *float32, p float32, v *byte)

// scoresF16AVX2 writes s[j] = dotF16AVX2 of key row j (kstride bytes apart) and q.
//
//go:noescape
func scoresF16AVX2(n, hd32 int, q, k *byte, kstride int, s *float32)

// axpyLanesF16AVX2 is axpyLanesAVX2 over f16 value rows.
//
//go:noescape
func axpyLanesF16AVX2(n, hd8 int, lanes, p *float32, v *byte, vstride, j0 int)
