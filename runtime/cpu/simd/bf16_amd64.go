package simd

// dotBF16GemmAVX2 is tinyBLAS's BF16 dot over n8 groups of 8 bfloat16s.
//
//go:noescape
func dotBF16GemmAVX2(n8 int, w, x *byte) float32
