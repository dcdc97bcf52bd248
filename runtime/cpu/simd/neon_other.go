//go:build !arm64

package simd

// useNEON is false off arm64; the neon* functions are never called there.
const useNEON = false

func neonName() string { panic("simd: no NEON on this architecture") }

func neonDotQ8_0(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotQ4_0(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotQ8_0x4(n int, w []byte, stride int, x []byte, out []float32) {
	panic("simd: no NEON on this architecture")
}

func neonDotQ4_0x4(n int, w []byte, stride int, x []byte, out []float32) {
	panic("simd: no NEON on this architecture")
}

func neonDotQ4_K(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotQ6_K(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotF16(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotF32(x, y []float32) float32 { panic("simd: no NEON on this architecture") }

func neonAxpyFMA(acc []float32, p float32, v []float32) { panic("simd: no NEON on this architecture") }

func neonSwiGLURow(y, g, u []float32) { panic("simd: no NEON on this architecture") }

func neonSoftmaxInPlace(y []float32) { panic("simd: no NEON on this architecture") }

func neonDotQ5_0(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotQ4_1(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotQ5_1(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotQ2_K(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotQ3_K(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotQ5_K(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotF16Gemm(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonDotF32Gemm(x, y []float32) float32 { panic("simd: no NEON on this architecture") }

func neonDotBF16Gemm(n int, w, x []byte) float32 { panic("simd: no NEON on this architecture") }

func neonQuantizeQ8_0(src []float32, dst []byte) { panic("simd: no NEON on this architecture") }

func neonQuantizeQ8_K(src []float32, dst []byte) { panic("simd: no NEON on this architecture") }

func neonAxpyF16(acc []float32, p float32, v []byte) { panic("simd: no NEON on this architecture") }

func neonTurboScores(bits int, keys []byte, stride int, qr, out []float32) {
	panic("simd: no NEON on this architecture")
}

func neonTurboDot(bits int, k []byte, qr []float32) float32 {
	panic("simd: no NEON on this architecture")
}

func axpyQ8_0NEON(nb int, acc *float32, p float32, v *byte) {
	panic("simd: no NEON on this architecture")
}

func axpyQ4_0NEON(nb int, acc *float32, p float32, v *byte) {
	panic("simd: no NEON on this architecture")
}
