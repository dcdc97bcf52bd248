package simd

// quantQ8_0AVX2 quantizes nb blocks of 32 floats to Q8_0 (34 bytes each).
//
//go:noescape
func quantQ8_0AVX2(nb int, src *float32, dst *byte)

// quantQ8KAVX2 quantizes nb blocks of 256 floats to Q8_K (292 bytes each).
//
//go:noescape
func quantQ8KAVX2(nb int, src *float32, dst *byte)
