//go:build !amd64

package simd

const useAVX2 = false

func dotQ8_0AVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotF32AVX2(n32 int, x, y *float32) float32 { panic("simd: no AVX2 on this architecture") }

func axpyFMAAVX2(n8 int, p float32, v, acc *float32) { panic("simd: no AVX2 on this architecture") }

func swigluAVX2(n8 int, y, gate, up *float32) { panic("simd: no AVX2 on this architecture") }

func expSubAVX2(n8 int, y *float32, m float32) { panic("simd: no AVX2 on this architecture") }

func dotQ8_0x4AVX2(nb int, w *byte, stride int, x *byte, out *float32) {
	panic("simd: no AVX2 on this architecture")
}

func dotQ4_0AVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotQ5_0AVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotQ4_0x4AVX2(nb int, w *byte, stride int, x *byte, out *float32) {
	panic("simd: no AVX2 on this architecture")
}

func dotF16AVX2(n32 int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }
