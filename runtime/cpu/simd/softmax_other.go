//go:build !amd64

package simd

func maxMinAVX2(n8 int, y *float32) (m, lo float32, nan bool) {
	panic("simd: no AVX2 on this architecture")
}

func sumLanes8AVX2(n8 int, y *float32) float64 { panic("simd: no AVX2 on this architecture") }

func scaleAVX2(n8 int, y *float32, s float32) { panic("simd: no AVX2 on this architecture") }
