package simd

import (
	"github.com/kiln-ml/kiln/ops/quant"
	"golang.org/x/sys/cpu"
)

// useVNNI enables the matrix-matrix tiles: they need AVX-512's VNNI dot
// (exact int32 sums, so the results are the AVX2 kernels' bit for bit) and
// its sixteen extra vector registers, at 256-bit width.
var useVNNI = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

func init() {
	if !useVNNI {
		return
	}
	gemms[quant.Q8_0] = gemmKernel{tile: gemmQ8_0x4x4VNNI, rows: 4, be: 32, wb: 34, xb: 34, dot: DotQ8_0, dot4: DotQ8_0x4}
	gemms[quant.Q4_0] = gemmKernel{tile: gemmQ4_0x4x4VNNI, rows: 4, be: 32, wb: 18, xb: 34, dot: DotQ4_0, dot4: DotQ4_0x4}
	gemms[quant.Q4_K] = gemmKernel{tile: gemmQ4Kx1x4, rows: 1, be: quant.QK_K, wb: q4KBytes, xb: q8KBytes, dot: DotQ4_K}
	gemms[quant.Q6_K] = gemmKernel{tile: gemmQ6Kx1x4, rows: 1, be: quant.QK_K, wb: q6KBytes, xb: q8KBytes, dot: DotQ6_K}
	if cpu.X86.HasAVX512BW { // its unpacking adds under a byte mask
		gemms[quant.Q5_0] = gemmKernel{tile: gemmQ5_0x4x4VNNI, rows: 4, be: 32, wb: 22, xb: 34, dot: DotQ5_0}
	}
	gemms[quant.Q5_K] = gemmKernel{tile: gemmQ5Kx1x4, rows: 1, be: quant.QK_K, wb: q5KBytes, xb: q8KBytes, dot: DotQ5_K}
	gemms[quant.Q3_K] = gemmKernel{tile: gemmQ3Kx1x4, rows: 1, be: quant.QK_K, wb: q3KBytes, xb: q8KBytes, dot: DotQ3_K}
	gemms[quant.Q2_K] = gemmKernel{tile: gemmQ2Kx1x4, rows: 1, be: quant.QK_K, wb: q2KBytes, xb: q8KBytes, dot: DotQ2_K}
	gemms[quant.Q4_1] = gemmKernel{tile: gemmQ4_1x4x4VNNI, rows: 4, be: 32, wb: 20, xb: 36, dot: DotQ4_1}
	if cpu.X86.HasAVX512BW {
		gemms[quant.Q5_1] = gemmKernel{tile: gemmQ5_1x4x4VNNI, rows: 4, be: 32, wb: 24, xb: 36, dot: DotQ5_1}
	}
}

// gemmQ6Kx1x4 adapts the one-row Q6_K tile to the tile signature.
func gemmQ6Kx1x4(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int) {
	gemmQ6Kx1x4VNNI(nb, w, x, xstride, out, ostride)
}

// gemmQ4Kx1x4 adapts the one-row Q4_K tile to the tile signature.
func gemmQ4Kx1x4(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int) {
	gemmQ4Kx1x4VNNI(nb, w, x, xstride, out, ostride)
}

// gemmQ8_0x4x4VNNI writes the 16 dots of four Q8_0 weight rows (wstride
// bytes apart) with four Q8_0 activation rows (xstride bytes apart) to
// out[t*ostride+r].
//
//go:noescape
func gemmQ8_0x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)

// gemmQ4_0x4x4VNNI is gemmQ8_0x4x4VNNI for Q4_0 weights.
//
//go:noescape
func gemmQ4_0x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)

// gemmQ4Kx1x4VNNI writes the dots of one Q4_K weight row with four Q8_K
// activation rows (xstride bytes apart) to out[t*ostride].
//
//go:noescape
func gemmQ4Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)

// gemmQ6Kx1x4VNNI is gemmQ4Kx1x4VNNI for Q6_K weights.
//
//go:noescape
func gemmQ6Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)

// gemmQ5_0x4x4VNNI is gemmQ8_0x4x4VNNI for Q5_0 weights; it needs AVX-512 BW.
//
//go:noescape
func gemmQ5_0x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)

// gemmQ5Kx1x4 adapts the one-row Q5_K tile to the tile signature.
func gemmQ5Kx1x4(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int) {
	gemmQ5Kx1x4VNNI(nb, w, x, xstride, out, ostride)
}

// gemmQ5Kx1x4VNNI is gemmQ4Kx1x4VNNI for Q5_K weights.
//
//go:noescape
func gemmQ5Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)

// gemmQ3Kx1x4 adapts the one-row Q3_K tile to the tile signature.
func gemmQ3Kx1x4(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int) {
	gemmQ3Kx1x4VNNI(nb, w, x, xstride, out, ostride)
}

// gemmQ2Kx1x4 adapts the one-row Q2_K tile to the tile signature.
func gemmQ2Kx1x4(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int) {
	gemmQ2Kx1x4VNNI(nb, w, x, xstride, out, ostride)
}

// gemmQ3Kx1x4VNNI is gemmQ4Kx1x4VNNI for Q3_K weights.
//
//go:noescape
func gemmQ3Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)

// gemmQ2Kx1x4VNNI is gemmQ4Kx1x4VNNI for Q2_K weights.
//
//go:noescape
func gemmQ2Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)

// gemmQ4_1x4x4VNNI writes the 16 dots of four Q4_1 weight rows (wstride
// bytes apart) with four Q8_1 activation rows (xstride bytes apart) to
// out[t*ostride+r].
//
//go:noescape
func gemmQ4_1x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)

// gemmQ5_1x4x4VNNI is gemmQ4_1x4x4VNNI for Q5_1 weights; it needs AVX-512 BW.
//
//go:noescape
func gemmQ5_1x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)
