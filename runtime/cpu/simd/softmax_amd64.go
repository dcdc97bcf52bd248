package simd

// maxMinAVX2 returns the max and min of n8 groups of 8 floats, and whether
// any is NaN (then the max and min mean nothing).
//
//go:noescape
func maxMinAVX2(n8 int, y *float32) (m, lo float32, nan bool)

// sumLanes8AVX2 returns Σ over n8 groups of 8 of float64(hsum8(group)),
// hsum8 being ggml's high-onto-low, movehl, movehdup reduction, in order.
//
//go:noescape
func sumLanes8AVX2(n8 int, y *float32) float64

// scaleAVX2 sets y[i] *= s for n8 groups of 8.
//
//go:noescape
func scaleAVX2(n8 int, y *float32, s float32)
