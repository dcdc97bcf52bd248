package simd

// axpyQ8_0AVX2 does acc[i] = fma(p, v̂[i], acc[i]) over nb Q8_0 blocks of v.
//
//go:noescape
func axpyQ8_0AVX2(nb int, acc *float32, p float32, v *byte)

// axpyQ4_0AVX2 is axpyQ8_0AVX2 for Q4_0 blocks.
//
//go:noescape
func axpyQ4_0AVX2(nb int, acc *float32, p float32, v *byte)
