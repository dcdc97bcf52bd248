package kvquant

import (
	"encoding/binary"
	"math"

	"github.com/kiln-ml/kiln/ops/quant"
)

// A turbo_kv head vector is a 2-byte header then the codes:
//
//	header: fp16 s = rms(x)·γ, where rms = ‖x‖/√d and γ is the least-squares
//	        gain of the codes (≈1). Storing the RMS rather than the norm keeps
//	        it in fp16's range wherever an f16 cache would be.
//	4 bits: d/2 bytes; per 16 coordinates, byte k holds coordinate k in its
//	        low nibble and coordinate k+8 in its high one, so 8 bytes widen to
//	        two vectors of 8 consecutive codes.
//	3 bits: d/4 bytes of low 2-bit fields (per 32 coordinates, byte k holds
//	        k, k+8, k+16, k+24 from the low bits up), then d/8 bytes of the
//	        high bit (bit i of the plane is coordinate i's).
//	5 bits: the 4-bit layout of the low 4 bits, then d/8 bytes of the high bit.
//
// The 4- and 5-bit codes are sign and magnitude: the top bit is the sign,
// the rest index the positive half of the (odd) codebook, so a vector
// kernel looks up half the levels and flips signs. Code returns the
// ascending level index either way.
//
// The coordinates are those of z = H·(σ⊙x)/‖x‖: σ the head's random signs,
// H the unnormalized Walsh–Hadamard matrix (H·H = d·I), so z has norm √d and
// its coordinates are close to N(0,1) whatever x looks like.
const turboHeader = 2

// Codebook returns the 2^bits Lloyd-Max levels (ascending) of the turbo formats.
func Codebook(bits int) []float32 { return codebooks[bits] }

// Signs returns the rotation signs (±1) of head vectors of one layer and
// KV head: splitmix64 seeded from (layer, head), so every run and backend
// rotates identically.
func Signs(layer, head, headDim int) []float32 {
	s := make([]float32, headDim)
	state := uint64(layer)<<32 ^ uint64(head) ^ 0x6b696c6e2d6b7621 // "kiln-kv!"
	var r uint64
	for i := range s {
		if i%64 == 0 {
			state += 0x9e3779b97f4a7c15
			z := state
			z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
			z = (z ^ z>>27) * 0x94d049bb133111eb
			r = z ^ z>>31
		}
		s[i] = 1
		if r>>(i%64)&1 != 0 {
			s[i] = -1
		}
	}
	return s
}

// Hadamard applies the unnormalized fast Walsh–Hadamard transform to x in
// place (len(x) a power of two), butterflies of stride 1, 2, 4, ...
func Hadamard(x []float32) {
	n := len(x)
	for h := 1; h < n; h *= 2 {
		for i := 0; i < n; i += 2 * h {
			for j := i; j < i+h; j++ {
				a, b := x[j], x[j+h]
				x[j], x[j+h] = a+b, a-b
			}
		}
	}
}

// RotateQuery sets dst to the query in the keys' coded domain:
// H·(σ⊙q)·(mul/√d). Then q·k̂ = s·Σ dstᵢ·c[idxᵢ] for a packed key (s its
// header), so mul = the attention scale gives scaled scores directly.
func RotateQuery(dst, q, signs []float32, mul float32) {
	dst = dst[:len(q)]
	for i, v := range q {
		dst[i] = v * signs[i]
	}
	Hadamard(dst)
	m := mul / float32(math.Sqrt(float64(len(q))))
	for i := range dst {
		dst[i] *= m
	}
}

// The encoder picks each vector's codes by a scale search. Lloyd-Max levels
// are the best fixed quantizer for N(0,1) coordinates on average, but one
// vector's d rotated coordinates are a small sample, and the scale that
// codes it best wanders some ±20% around 1. So it codes zn·t (zn = z/‖x‖,
// RMS 1) with the nearest levels for trial gains t = 1+0.08k, k = −3..3,
// fits the header by least squares for each, keeps the codes of least
// error, and then refines twice Lloyd-style (re-codes at t = 1/γ of the
// best). t = 1, the plain nearest code, is a trial, so no vector codes
// worse than by rounding alone. On Gaussian vectors of 64 the relative
// error falls from 0.0324, 0.0088, 0.0023 to 0.0291, 0.0070, 0.0017 for
// 3, 4, 5 bits (a 17-step grid gains 0.3% more), in the same format: the
// score kernels do not change.
const (
	searchSteps  = 3
	searchStep   = 0.08
	searchRefine = 2
)

// magTable maps a magnitude u ≥ 0 to the nearest positive level of an odd
// codebook: cell[int(u·cellRes)] is the level nearest the cell's lower
// edge, and a cell holds at most one boundary, so one comparison with up
// finishes the lookup. (Fixed-size arrays: the lookups need no bounds checks.)
type magTable struct {
	lv, lv2 [16]float64 // the positive levels, ascending, and their squares
	up      [16]float32 // up[k]: the boundary between levels k and k+1; +Inf for the last
	cell    [64]uint8   // past the last boundary: the top level
}

const cellRes = 16

var magTables = func() (t [6]magTable) {
	for bits := 3; bits <= 5; bits++ {
		cb := codebooks[bits]
		n := len(cb) / 2
		m := &t[bits]
		for k, v := range cb[n:] {
			m.lv[k], m.lv2[k] = float64(v), float64(v)*float64(v)
			m.up[k] = float32(math.Inf(1))
			if k+1 < n {
				m.up[k] = (v + cb[n+k+1]) / 2
			}
		}
		for j := range m.cell {
			k := 0
			for float32(j)/cellRes >= m.up[k] {
				k++
			}
			if k+1 < n && float32(j+1)/cellRes > m.up[k+1] {
				panic("kvquant: two level boundaries in one lookup cell")
			}
			m.cell[j] = uint8(k)
		}
	}
	return t
}()

// nearest returns the index of the positive level nearest to u ≥ 0 (ties go up).
func (m *magTable) nearest(u float32) int {
	k := int(m.cell[min(int32(u*cellRes), int32(len(m.cell)-1))&63]) & 15
	if u >= m.up[k] {
		k++
	}
	return k & 15
}

// fit codes |zᵢ|·s with the nearest levels ℓᵢ and returns Σ|zᵢ|·ℓᵢ and
// Σℓᵢ²: the least-squares gain of those codes (in z's units) is num/den,
// and their squared error ‖z‖² − num²/den. The products of float32s are
// exact in float64, so arm64's fused multiply-adds change nothing and
// every platform picks the same codes.
func (m *magTable) fit(z []float32, s float32) (num, den float64) {
	for _, v := range z {
		a := abs32(v)
		k := m.nearest(a * s)
		num += float64(a) * m.lv[k]
		den += m.lv2[k]
	}
	return num, den
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

func packTurbo(bits int, dst []byte, x, signs, tmp []float32) {
	d := len(x)
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	codes := dst[turboHeader:]
	clear(codes[:d*bits/8])
	if ss == 0 || math.IsInf(ss, 0) || math.IsNaN(ss) {
		// A zero vector scores 0 whatever its codes; a NaN or infinite
		// one gets a NaN header, so its scores are NaN as an f16 cache's
		// would be rather than silently finite.
		h := float32(0)
		if ss != 0 {
			h = float32(math.NaN())
		}
		binary.LittleEndian.PutUint16(dst, quant.FP32ToFP16(h))
		return
	}
	z := tmp[:d]
	for i, v := range x {
		z[i] = v * signs[i]
	}
	Hadamard(z)
	m := &magTables[bits]
	inv := float32(1 / math.Sqrt(ss)) // zn = z·inv
	bt := float32(1)
	bn, bd := m.fit(z, inv)
	try := func(t float32) {
		n, dn := m.fit(z, inv*t)
		if n/dn*n > bn/bd*bn { // n²/dn > bn²/bd: less error
			bt, bn, bd = t, n, dn
		}
	}
	for k := -searchSteps; k <= searchSteps; k++ {
		if k != 0 {
			try(1 + float32(searchStep*float32(k))) // rounded: no FMA on arm64
		}
	}
	for range searchRefine {
		try(float32(bd / (bn * float64(inv)))) // 1/γ, γ = bn·inv/bd
	}
	half := len(codebooks[bits]) / 2
	for i, v := range z {
		k := m.nearest(abs32(v) * inv * bt)
		if v < 0 {
			setCode(bits, codes, d, i, uint8(half-1-k))
		} else {
			setCode(bits, codes, d, i, uint8(half+k))
		}
	}
	s := math.Sqrt(ss/float64(d)) * bn * float64(inv) / bd
	binary.LittleEndian.PutUint16(dst, quant.FP32ToFP16(float32(s)))
}

// signMag maps an ascending level index k of a 2^bits codebook to its sign
// and magnitude form, and back (the map is its own inverse).
func signMag(bits int, k uint8) uint8 {
	if bits == 3 {
		return k
	}
	half := uint8(1) << (bits - 1)
	if k >= half {
		return k - half
	}
	return half | (half - 1 - k)
}

func fromSignMag(bits int, s uint8) uint8 {
	if bits == 3 {
		return s
	}
	half := uint8(1) << (bits - 1)
	if s&half != 0 {
		return half - 1 - s&(half-1)
	}
	return half + s
}

func setCode(bits int, codes []byte, d, i int, k uint8) {
	k = signMag(bits, k)
	switch bits {
	case 4:
		codes[i/16*8+i%8] |= k << (4 * (i % 16 / 8))
	case 3:
		codes[i/32*8+i%8] |= (k & 3) << (2 * (i % 32 / 8))
		codes[d/4+i/8] |= (k >> 2) << (i % 8)
	case 5:
		codes[i/16*8+i%8] |= (k & 15) << (4 * (i % 16 / 8))
		codes[d/2+i/8] |= (k >> 4) << (i % 8)
	}
}

// Code returns coordinate i's codebook index from a turbo vector's codes
// (the bytes after the header) of d coordinates.
func Code(bits int, codes []byte, d, i int) uint8 {
	switch bits {
	case 4:
		return fromSignMag(4, codes[i/16*8+i%8]>>(4*(i%16/8))&15)
	case 3:
		return codes[i/32*8+i%8]>>(2*(i%32/8))&3 | (codes[d/4+i/8]>>(i%8)&1)<<2
	default:
		return fromSignMag(5, codes[i/16*8+i%8]>>(4*(i%16/8))&15|(codes[d/2+i/8]>>(i%8)&1)<<4)
	}
}

// TurboScale returns a packed turbo vector's header s as float32.
func TurboScale(src []byte) float32 {
	return quant.FP16ToFP32(binary.LittleEndian.Uint16(src))
}

// TurboDot is the reference score of a rotated query qr (from RotateQuery)
// against one packed turbo key of len(qr) coordinates: s·Σ qrᵢ·c[idxᵢ],
// the sum in the order the AVX2 kernel keeps: coordinate i goes to lane i%8
// of accumulator (i/8)%2 with a fused multiply-add, the two accumulators
// are added lane by lane and the lanes reduced high half onto low, then
// movehl, then movehdup.
func TurboDot(bits int, src []byte, qr []float32) float32 {
	d := len(qr)
	cb := codebooks[bits]
	codes := src[turboHeader:]
	var acc [2][8]float32
	for i := 0; i < d; i++ {
		a := &acc[(i>>3)&1][i&7]
		*a = quant.FMA32(qr[i], cb[Code(bits, codes, d, i)], *a)
	}
	var l [8]float32
	for i := range l {
		l[i] = acc[0][i] + acc[1][i]
	}
	r0, r1, r2, r3 := l[4]+l[0], l[5]+l[1], l[6]+l[2], l[7]+l[3]
	return TurboScale(src) * ((r0 + r2) + (r1 + r3))
}

// unpackTurbo reconstructs x̂ = σ⊙H·(s·c)/√d in the original domain.
func unpackTurbo(bits int, src []byte, dst, signs []float32) {
	d := len(dst)
	cb := codebooks[bits]
	s := TurboScale(src) / float32(math.Sqrt(float64(d)))
	for i := range dst {
		dst[i] = cb[Code(bits, src[turboHeader:], d, i)] * s
	}
	Hadamard(dst)
	for i := range dst {
		dst[i] *= signs[i]
	}
}

// Pack stores the head vector x as t in dst[:t.HeadBytes(len(x))]. signs
// (the head's, from Signs) and tmp (len(x) floats of scratch) are used by
// the turbo formats only. Block formats quantize as llama.cpp's CPU cache
// writes do. It does not allocate.
func Pack(t Type, dst []byte, x, signs, tmp []float32) {
	if t.Turbo() {
		packTurbo(t.Bits(), dst, x, signs, tmp)
		return
	}
	q, _ := t.Block()
	_ = quant.QuantizeActivation(q, x, dst)
}

// Unpack decodes one packed head vector into dst (len = head_dim); turbo
// vectors are rotated back to the original domain with signs.
func Unpack(t Type, src []byte, dst, signs []float32) {
	if t.Turbo() {
		unpackTurbo(t.Bits(), src, dst, signs)
		return
	}
	q, _ := t.Block()
	_ = quant.Dequantize(q, src, dst)
}
