package simd

//go:generate go run ./neongen -o neon_arm64.s

import (
	"math"
	"os"

	"golang.org/x/sys/cpu"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// useNEON is true on every arm64 CPU Go runs on (Advanced SIMD and FP are
// part of the Linux and macOS arm64 baselines); it is checked all the same.
var useNEON = cpu.ARM64.HasASIMD && cpu.ARM64.HasFP

// useDotProd picks the SDOT kernels (the dot-product extension: Apple M1
// and later, Graviton2 and later, Cortex-A76/A55 onwards) over the plain
// NEON ones, which widen int8 products to int16 and pair them. Both give
// the same bits. KILN_NODOTPROD=1 forces the plain ones, so that emulated
// and real CPUs with the extension can test both.
var useDotProd = useNEON && cpu.ARM64.HasASIMDDP && os.Getenv("KILN_NODOTPROD") == ""

// neonQuant is one set of the quantized dot kernels of neon_arm64.s.
type neonQuant struct {
	q8_0, q4_0, q5_0, q4_1, q5_1 func(nb int, w, x *byte) float32
	q2K, q3K, q4K, q5K, q6K      func(nb int, w, x *byte) float32
	q8_0x4, q4_0x4               func(nb int, w *byte, stride int, x *byte, out *float32)
}

var (
	sdotQuant = neonQuant{
		dotQ8_0SDOT, dotQ4_0SDOT, dotQ5_0SDOT, dotQ4_1SDOT, dotQ5_1SDOT,
		dotQ2KSDOT, dotQ3KSDOT, dotQ4KSDOT, dotQ5KSDOT, dotQ6KSDOT,
		dotQ8_0x4SDOT, dotQ4_0x4SDOT,
	}
	plainQuant = neonQuant{
		dotQ8_0NEON, dotQ4_0NEON, dotQ5_0NEON, dotQ4_1NEON, dotQ5_1NEON,
		dotQ2KNEON, dotQ3KNEON, dotQ4KNEON, dotQ5KNEON, dotQ6KNEON,
		dotQ8_0x4NEON, dotQ4_0x4NEON,
	}
	qk = &plainQuant
)

func init() {
	setDotProd(useDotProd)
	if useNEON {
		for t, f := range map[quant.Type]DotFunc{
			quant.Q8_0: DotQ8_0, quant.Q4_0: DotQ4_0, quant.Q5_0: DotQ5_0,
			quant.Q4_1: DotQ4_1, quant.Q5_1: DotQ5_1,
			quant.Q2_K: DotQ2_K, quant.Q3_K: DotQ3_K, quant.Q4_K: DotQ4_K,
			quant.Q5_K: DotQ5_K, quant.Q6_K: DotQ6_K, quant.F16: DotF16,
		} {
			dots[t] = f
		}
	}
}

// setDotProd chooses the SDOT kernels (on) or the plain NEON ones; tests
// use it to run both where the CPU has the extension.
func setDotProd(on bool) {
	useDotProd = on
	if on {
		qk = &sdotQuant
	} else {
		qk = &plainQuant
	}
}

func neonName() string {
	if useDotProd {
		return "neon+dotprod"
	}
	return "neon"
}

func neonDotQ8_0(n int, w, x []byte) float32 {
	nb := n / 32
	if nb == 0 {
		return quant.DotActivation(quant.Q8_0, n, w, x)
	}
	_ = w[nb*34-1]
	_ = x[nb*34-1]
	return qk.q8_0(nb, &w[0], &x[0])
}

func neonDotQ4_0(n int, w, x []byte) float32 {
	nb := n / 32
	if nb == 0 {
		return quant.DotActivation(quant.Q4_0, n, w, x)
	}
	_ = w[nb*18-1]
	_ = x[nb*34-1]
	return qk.q4_0(nb, &w[0], &x[0])
}

// neonDotLegacy runs kernel k over the whole 32-element blocks of a row of
// n elements (wb and xb bytes a block), or the plain-Go ref where there are
// none.
func neonDotLegacy(k func(nb int, w, x *byte) float32, ref DotFunc, wb, xb, n int, w, x []byte) float32 {
	nb := n / 32
	if nb == 0 {
		return ref(n, w, x)
	}
	_ = w[nb*wb-1]
	_ = x[nb*xb-1]
	return k(nb, &w[0], &x[0])
}

func neonDotQ5_0(n int, w, x []byte) float32 {
	return neonDotLegacy(qk.q5_0, func(n int, w, x []byte) float32 { return quant.DotActivation(quant.Q5_0, n, w, x) }, 22, 34, n, w, x)
}

func neonDotQ4_1(n int, w, x []byte) float32 {
	return neonDotLegacy(qk.q4_1, quant.DotLanesQ4_1, 20, 36, n, w, x)
}

func neonDotQ5_1(n int, w, x []byte) float32 {
	return neonDotLegacy(qk.q5_1, quant.DotLanesQ5_1, 24, 36, n, w, x)
}

func neonDotQ8_0x4(n int, w []byte, stride int, x []byte, out []float32) {
	nb := n / 32
	if nb == 0 {
		for r := 0; r < 4; r++ {
			out[r] = quant.DotActivation(quant.Q8_0, n, w[r*stride:], x)
		}
		return
	}
	_ = w[3*stride+nb*34-1]
	_ = x[nb*34-1]
	_ = out[3]
	qk.q8_0x4(nb, &w[0], stride, &x[0], &out[0])
}

func neonDotQ4_0x4(n int, w []byte, stride int, x []byte, out []float32) {
	nb := n / 32
	if nb == 0 {
		for r := 0; r < 4; r++ {
			out[r] = quant.DotActivation(quant.Q4_0, n, w[r*stride:], x)
		}
		return
	}
	_ = w[3*stride+nb*18-1]
	_ = x[nb*34-1]
	_ = out[3]
	qk.q4_0x4(nb, &w[0], stride, &x[0], &out[0])
}

// neonKBlocks returns the super-block count of a row of n elements, or 0
// where the lane-ordered twin must take it (and panic on a bad n).
func neonKBlocks(n int) int {
	if n < quant.QK_K || n%quant.QK_K != 0 {
		return 0
	}
	return n / quant.QK_K
}

// neonDotK runs kernel k over a row of n elements of a k-quant with wb
// bytes a super-block, or the lane-ordered twin ref where n is not a whole
// number of super-blocks.
func neonDotK(k func(nb int, w, x *byte) float32, ref DotFunc, wb, n int, w, x []byte) float32 {
	nb := neonKBlocks(n)
	if nb == 0 {
		return ref(n, w, x)
	}
	_ = w[nb*wb-1]
	_ = x[nb*q8KBytes-1]
	return k(nb, &w[0], &x[0])
}

func neonDotQ2_K(n int, w, x []byte) float32 {
	return neonDotK(qk.q2K, quant.DotQ2KLanes, q2KBytes, n, w, x)
}

func neonDotQ3_K(n int, w, x []byte) float32 {
	return neonDotK(qk.q3K, quant.DotQ3KLanes, q3KBytes, n, w, x)
}

func neonDotQ5_K(n int, w, x []byte) float32 {
	return neonDotK(qk.q5K, quant.DotQ5KLanes, q5KBytes, n, w, x)
}

func neonDotQ4_K(n int, w, x []byte) float32 {
	nb := neonKBlocks(n)
	if nb == 0 {
		return quant.DotQ4KLanes(n, w, x)
	}
	_ = w[nb*q4KBytes-1]
	_ = x[nb*q8KBytes-1]
	return qk.q4K(nb, &w[0], &x[0])
}

func neonDotQ6_K(n int, w, x []byte) float32 {
	nb := neonKBlocks(n)
	if nb == 0 {
		return quant.DotQ6KLanes(n, w, x)
	}
	_ = w[nb*q6KBytes-1]
	_ = x[nb*q8KBytes-1]
	return qk.q6K(nb, &w[0], &x[0])
}

func neonDotF16(n int, w, x []byte) float32 {
	np := n &^ 31
	if np == 0 {
		return quant.DotActivation(quant.F16, n, w, x)
	}
	_ = w[2*n-1]
	_ = x[2*n-1]
	s := float64(dotF16NEON(np/32, &w[0], &x[0]))
	for i := np; i < n; i++ {
		s += float64(quant.FP16ToFP32(uint16(w[2*i])|uint16(w[2*i+1])<<8) * quant.FP16ToFP32(uint16(x[2*i])|uint16(x[2*i+1])<<8))
	}
	return float32(s)
}

func neonDotF16Gemm(n int, w, x []byte) float32 {
	if n < 8 || n%8 != 0 {
		return quant.DotLanesF16Gemm(n, w, x)
	}
	_ = w[2*n-1]
	_ = x[2*n-1]
	return dotF16GemmNEON(n/8, &w[0], &x[0])
}

// neonDotBF16Gemm is the BF16 batched-matmul dot (one 8-lane FMA
// accumulator over widened bf16s, hsum8) for n a positive multiple of 8.
func neonDotBF16Gemm(n int, w, x []byte) float32 {
	_ = w[2*n-1]
	_ = x[2*n-1]
	return dotBF16GemmNEON(n/8, &w[0], &x[0])
}

func neonDotF32Gemm(x, y []float32) float32 {
	n := len(x)
	if n < 8 || n%8 != 0 {
		return quant.DotLanesF32Gemm(x, y)
	}
	_ = y[n-1]
	return dotF32GemmNEON(n/8, &x[0], &y[0])
}

func neonDotF32(x, y []float32) float32 {
	n := len(x)
	if n < 32 {
		return ops.DotF32(x, y)
	}
	y = y[:n]
	np := n &^ 31
	s := float64(dotF32NEON(np/32, &x[0], &y[0]))
	for i := np; i < n; i++ {
		s += float64(x[i] * y[i])
	}
	return float32(s)
}

func neonAxpyFMA(acc []float32, p float32, v []float32) {
	n := len(acc)
	n16 := n &^ 15
	if n16 > 0 {
		v = v[:n]
		axpyFMANEON(n16/16, p, &v[0], &acc[0])
	}
	ops.AxpyFMA(acc[n16:], p, v[n16:])
}

func neonSwiGLURow(y, g, u []float32) {
	n := len(y)
	n8 := n &^ 7
	if n8 == 0 || !fastExpRange(g[:n8]) {
		ops.SwiGLURow(y, g, u)
		return
	}
	g, u = g[:n], u[:n]
	swigluNEON(n8/4, &y[0], &g[0], &u[0])
	ops.SwiGLURow(y[n8:], g[n8:], u[n8:])
}

// neonSoftmaxInPlace is SoftmaxInPlace's vector path with NEON exponentials.
func neonSoftmaxInPlace(y []float32) {
	n := len(y)
	n8 := n &^ 7
	if n8 == 0 {
		ops.SoftmaxInPlace(y)
		return
	}
	m, lo := y[0], y[0]
	for _, v := range y {
		m = max(m, v)
		lo = min(lo, v)
	}
	if !(lo-m > -87) {
		ops.SoftmaxInPlace(y)
		return
	}
	expSubNEON(n8/4, &y[0], m)
	var sum float64
	for i := 0; i < n8; i += 8 {
		v := y[i : i+8 : i+8]
		a0, a1, a2, a3 := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
		sum += float64((a0 + a2) + (a1 + a3))
	}
	for i := n8; i < n; i++ {
		e := float32(math.Exp(float64(y[i] - m)))
		y[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range y {
		y[i] *= inv
	}
}

// neonQuantizeQ8_0 quantizes the nb = len(src)/32 whole blocks of src to
// Q8_0 in dst; the caller has checked the lengths.
func neonQuantizeQ8_0(src []float32, dst []byte) {
	nb := len(src) / 32
	_ = src[nb*32-1]
	_ = dst[nb*34-1]
	quantQ8_0NEON(nb, &src[0], &dst[0])
}

// neonQuantizeQ8_K quantizes the nb = len(src)/256 whole super-blocks of
// src to Q8_K in dst; the caller has checked the lengths.
func neonQuantizeQ8_K(src []float32, dst []byte) {
	nb := len(src) / quant.QK_K
	_ = src[nb*quant.QK_K-1]
	_ = dst[nb*q8KBytes-1]
	quantQ8KNEON(nb, &src[0], &dst[0])
}

// neonAxpyF16 is ops.AxpyF16 with the whole groups of 16 vectorized.
func neonAxpyF16(acc []float32, p float32, v []byte) {
	n := len(acc)
	n16 := n &^ 15
	if n16 > 0 {
		_ = v[2*n-1]
		axpyF16NEON(n16/16, p, &v[0], &acc[0])
	}
	ops.AxpyF16(acc[n16:], p, v[2*n16:])
}

// turboPlanes holds, per bit width, the codebook levels in the order of
// the stored codes (sign and magnitude for 4 and 5 bits) as byte planes
// for TBL: byte j of the level of code c at j·per + c, per = 16 (3, 4
// bits) or 32 (5 bits). kvquant.Code decodes each code, so the planes are
// the reference's levels bit for bit.
var turboPlanes = [6][]byte{3: makeTurboPlanes(3), 4: makeTurboPlanes(4), 5: makeTurboPlanes(5)}

func makeTurboPlanes(bits int) []byte {
	cb := kvquant.Codebook(bits)
	per := max(16, len(cb))
	planes := make([]byte, 4*per)
	const d = 32 // one unit of every layout: code c as coordinate 0
	codes := make([]byte, d*bits/8)
	for c := range cb {
		clear(codes)
		switch bits {
		case 3:
			codes[0], codes[d/4] = byte(c&3), byte(c>>2)
		case 4:
			codes[0] = byte(c)
		case 5:
			codes[0], codes[d/2] = byte(c&15), byte(c>>4)
		}
		v := math.Float32bits(cb[kvquant.Code(bits, codes, d, 0)])
		for j := 0; j < 4; j++ {
			planes[j*per+c] = byte(v >> (8 * j))
		}
	}
	return planes
}

// neonTurboShape returns the kernel's unit count for a head of n
// coordinates (16 coordinates a unit, 32 for 3 bits), or 0 where the
// plain-Go twin must take it.
func neonTurboShape(bits, n int) int {
	unit := 16
	if bits == 3 {
		unit = 32
	}
	if bits < 3 || bits > 5 || n < unit || n%unit != 0 {
		return 0
	}
	return n / unit
}

// neonTurboScores is ops.TurboScores.
func neonTurboScores(bits int, keys []byte, stride int, qr, out []float32) {
	n := len(qr)
	units := neonTurboShape(bits, n)
	if units == 0 || len(out) == 0 {
		ops.TurboScores(bits, keys, stride, qr, out)
		return
	}
	hb := kvquant.Type(int(kvquant.Turbo3) + bits - 3).HeadBytes(n)
	_ = keys[(len(out)-1)*stride+hb-1]
	turboScoresNEON(bits, len(out), units, &keys[0], stride, &qr[0], &out[0])
}

// neonTurboDot is kvquant.TurboDot.
func neonTurboDot(bits int, k []byte, qr []float32) float32 {
	n := len(qr)
	units := neonTurboShape(bits, n)
	if units == 0 {
		return kvquant.TurboDot(bits, k, qr)
	}
	_ = k[kvquant.Type(int(kvquant.Turbo3)+bits-3).HeadBytes(n)-1]
	var s float32
	turboScoresNEON(bits, 1, units, &k[0], 0, &qr[0], &s)
	return s
}

func turboScoresNEON(bits, nkeys, units int, keys *byte, stride int, q, out *float32) {
	tab := &turboPlanes[bits][0]
	switch bits {
	case 3:
		turboScores3NEON(nkeys, units, keys, stride, q, tab, out)
	case 4:
		turboScores4NEON(nkeys, units, keys, stride, q, tab, out)
	default:
		turboScores5NEON(nkeys, units, keys, stride, q, tab, out)
	}
}

// The kernels of neon_arm64.s (generated by neongen). The quantized ones
// come as SDOT and plain NEON variants computing the same bits.

//go:noescape
func dotQ8_0SDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ8_0NEON(nb int, w, x *byte) float32

//go:noescape
func dotQ4_0SDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ4_0NEON(nb int, w, x *byte) float32

//go:noescape
func dotQ8_0x4SDOT(nb int, w *byte, stride int, x *byte, out *float32)

//go:noescape
func dotQ8_0x4NEON(nb int, w *byte, stride int, x *byte, out *float32)

//go:noescape
func dotQ4_0x4SDOT(nb int, w *byte, stride int, x *byte, out *float32)

//go:noescape
func dotQ4_0x4NEON(nb int, w *byte, stride int, x *byte, out *float32)

//go:noescape
func dotQ4KSDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ4KNEON(nb int, w, x *byte) float32

//go:noescape
func dotQ6KSDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ6KNEON(nb int, w, x *byte) float32

//go:noescape
func dotF32NEON(n32 int, x, y *float32) float32

//go:noescape
func dotF16NEON(n32 int, w, x *byte) float32

//go:noescape
func axpyFMANEON(n16 int, p float32, v, acc *float32)

//go:noescape
func swigluNEON(n4 int, y, gate, up *float32)

//go:noescape
func expSubNEON(n4 int, y *float32, m float32)

//go:noescape
func dotQ5_0SDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ5_0NEON(nb int, w, x *byte) float32

//go:noescape
func dotQ4_1SDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ4_1NEON(nb int, w, x *byte) float32

//go:noescape
func dotQ5_1SDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ5_1NEON(nb int, w, x *byte) float32

//go:noescape
func dotQ2KSDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ2KNEON(nb int, w, x *byte) float32

//go:noescape
func dotQ3KSDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ3KNEON(nb int, w, x *byte) float32

//go:noescape
func dotQ5KSDOT(nb int, w, x *byte) float32

//go:noescape
func dotQ5KNEON(nb int, w, x *byte) float32

//go:noescape
func dotF16GemmNEON(n8 int, w, x *byte) float32

//go:noescape
func dotF32GemmNEON(n8 int, w, x *float32) float32

//go:noescape
func dotBF16GemmNEON(n8 int, w, x *byte) float32

//go:noescape
func quantQ8_0NEON(nb int, src *float32, dst *byte)

//go:noescape
func quantQ8KNEON(nb int, src *float32, dst *byte)

//go:noescape
func axpyF16NEON(n16 int, p float32, v *byte, acc *float32)

//go:noescape
func axpyQ8_0NEON(nb int, acc *float32, p float32, v *byte)

//go:noescape
func axpyQ4_0NEON(nb int, acc *float32, p float32, v *byte)

//go:noescape
func turboScores3NEON(nkeys, n32 int, keys *byte, stride int, q *float32, tab *byte, out *float32)

//go:noescape
func turboScores4NEON(nkeys, n16 int, keys *byte, stride int, q *float32, tab *byte, out *float32)

//go:noescape
func turboScores5NEON(nkeys, n16 int, keys *byte, stride int, q *float32, tab *byte, out *float32)
