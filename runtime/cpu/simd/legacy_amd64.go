package simd

// dotQ4_1AVX2 is ggml_vec_dot_q4_1_q8_1's AVX2 loop over nb blocks (20-byte
// weights, 36-byte Q8_1 activations).
//
//go:noescape
func dotQ4_1AVX2(nb int, w, x *byte) float32

// dotQ5_1AVX2 is ggml_vec_dot_q5_1_q8_1's AVX2 loop over nb blocks (24-byte
// weights, 36-byte Q8_1 activations).
//
//go:noescape
func dotQ5_1AVX2(nb int, w, x *byte) float32

// dotF16GemmAVX2 is tinyBLAS's F16 dot over n8 groups of 8 halves.
//
//go:noescape
func dotF16GemmAVX2(n8 int, w, x *byte) float32

// dotF32GemmAVX2 is tinyBLAS's F32 dot over n8 groups of 8 floats.
//
//go:noescape
func dotF32GemmAVX2(n8 int, x, y *float32) float32
