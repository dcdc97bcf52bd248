package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Literal transliterations of ggml's generic vec_dot loops (ggml-cpu/
// quants.c, *_generic), statement by statement, including their aux8 /
// aux16 / aux32 buffers and the kmask scale unpacking. The optimized
// kernels must agree with them bit for bit.

func h32(b []byte) float32 { return FP16ToFP32(le16(b)) }

func genQ8_0(n int, x, y []byte) float32 {
	var sumf float32
	for ib := 0; ib < n/32; ib++ {
		xb, yb := x[ib*34:], y[ib*34:]
		var sumi int32
		for j := 0; j < 32; j++ {
			sumi += int32(int8(xb[2+j])) * int32(int8(yb[2+j]))
		}
		sumf += float32(float32(sumi) * (h32(xb) * h32(yb)))
	}
	return sumf
}

func genQ4_0(n int, x, y []byte) float32 {
	var sumf float32
	for ib := 0; ib < n/32; ib++ {
		xb, yb := x[ib*18:], y[ib*34:]
		var sumi0, sumi1 int32
		for j := 0; j < 16; j++ {
			v0 := int32(xb[2+j]&0x0F) - 8
			v1 := int32(xb[2+j]>>4) - 8
			sumi0 += v0 * int32(int8(yb[2+j]))
			sumi1 += v1 * int32(int8(yb[2+j+16]))
		}
		sumi := sumi0 + sumi1
		sumf += float32(float32(float32(sumi)*h32(xb)) * h32(yb))
	}
	return sumf
}

func genQ4_1(n int, x, y []byte) float32 {
	var sumf float32
	for ib := 0; ib < n/32; ib++ {
		xb, yb := x[ib*20:], y[ib*36:]
		var sumi0, sumi1 int32
		for j := 0; j < 16; j++ {
			sumi0 += int32(xb[4+j]&0x0F) * int32(int8(yb[4+j]))
			sumi1 += int32(xb[4+j]>>4) * int32(int8(yb[4+j+16]))
		}
		sumi := sumi0 + sumi1
		sumf += float32(float32(h32(xb)*h32(yb))*float32(sumi)) + float32(h32(xb[2:])*h32(yb[2:]))
	}
	return sumf
}

func genQ5_0(n int, x, y []byte) float32 {
	var sumf float32
	for ib := 0; ib < n/32; ib++ {
		xb, yb := x[ib*22:], y[ib*34:]
		qh := binary.LittleEndian.Uint32(xb[2:])
		var sumi0, sumi1 int32
		for j := 0; j < 16; j++ {
			xh0 := uint8(((qh & (1 << j)) >> j) << 4)
			xh1 := uint8((qh & (1 << (j + 16))) >> (j + 12))
			x0 := int32(int8((xb[6+j]&0x0F | xh0) - 16))
			x1 := int32(int8((xb[6+j]>>4 | xh1) - 16))
			sumi0 += x0 * int32(int8(yb[2+j]))
			sumi1 += x1 * int32(int8(yb[2+j+16]))
		}
		sumi := sumi0 + sumi1
		sumf += float32(float32(h32(xb)*h32(yb)) * float32(sumi))
	}
	return sumf
}

func genQ5_1(n int, x, y []byte) float32 {
	var sumf float32
	for ib := 0; ib < n/32; ib++ {
		xb, yb := x[ib*24:], y[ib*36:]
		qh := binary.LittleEndian.Uint32(xb[4:])
		var sumi0, sumi1 int32
		for j := 0; j < 16; j++ {
			xh0 := uint8((qh>>j)<<4) & 0x10
			xh1 := uint8(qh>>(j+12)) & 0x10
			x0 := int32(xb[8+j]&0xF | xh0)
			x1 := int32(xb[8+j]>>4 | xh1)
			sumi0 += x0 * int32(int8(yb[4+j]))
			sumi1 += x1 * int32(int8(yb[4+j+16]))
		}
		sumi := sumi0 + sumi1
		sumf += float32(float32(h32(xb)*h32(yb))*float32(sumi)) + float32(h32(xb[2:])*h32(yb[2:]))
	}
	return sumf
}

// q8KParts splits a q8_K block like the C struct.
func q8KParts(b []byte) (d float32, qs []int8, bsums [16]int16) {
	d = math.Float32frombits(binary.LittleEndian.Uint32(b))
	qs = make([]int8, 256)
	for i := range qs {
		qs[i] = int8(b[4+i])
	}
	for j := range bsums {
		bsums[j] = int16(le16(b[260+2*j:]))
	}
	return
}

func genQ2K(n int, x, y []byte) float32 {
	var sumf float32
	for i := 0; i < n/256; i++ {
		xb := x[i*84:]
		yd, q8all, bsums := q8KParts(y[i*292:])
		q2 := xb[16:80]
		sc := xb[0:16]
		var summs int32
		for j := 0; j < 16; j++ {
			summs += int32(bsums[j]) * int32(sc[j]>>4)
		}
		dall := yd * h32(xb[80:])
		dmin := yd * h32(xb[82:])
		var isum int32
		is := 0
		q8 := q8all
		for k := 0; k < 2; k++ {
			shift := 0
			for j := 0; j < 4; j++ {
				d := int32(sc[is] & 0xF)
				is++
				var isuml int32
				for l := 0; l < 16; l++ {
					isuml += int32(q8[l]) * int32((q2[l]>>shift)&3)
				}
				isum += d * isuml
				d = int32(sc[is] & 0xF)
				is++
				isuml = 0
				for l := 16; l < 32; l++ {
					isuml += int32(q8[l]) * int32((q2[l]>>shift)&3)
				}
				isum += d * isuml
				shift += 2
				q8 = q8[32:]
			}
			q2 = q2[32:]
		}
		sumf += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sumf
}

func genQ3K(n int, x, y []byte) float32 {
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	var aux8 [256]int8
	var aux16 [8]int16
	var sums [8]float32
	var aux32 [8]int32
	var auxs [4]uint32
	for i := 0; i < n/256; i++ {
		xb := x[i*110:]
		yd, q8, _ := q8KParts(y[i*292:])
		q3 := xb[32:96]
		hm := xb[0:32]
		aux32 = [8]int32{}
		a := aux8[:]
		m := uint8(1)
		for j := 0; j < 256; j += 128 {
			for s := 0; s < 8; s += 2 {
				for l := 0; l < 32; l++ {
					a[l] = int8(q3[l]>>s) & 3
				}
				for l := 0; l < 32; l++ {
					if hm[l]&m == 0 {
						a[l] -= 4
					}
				}
				a = a[32:]
				m <<= 1
			}
			q3 = q3[32:]
		}
		a = aux8[:]
		for k := 0; k < 3; k++ {
			auxs[k] = binary.LittleEndian.Uint32(xb[96+4*k:])
		}
		tmp := auxs[2]
		auxs[2] = ((auxs[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4)
		auxs[3] = ((auxs[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4)
		auxs[0] = (auxs[0] & kmask2) | (((tmp >> 0) & kmask1) << 4)
		auxs[1] = (auxs[1] & kmask2) | (((tmp >> 2) & kmask1) << 4)
		var scales [16]int8
		for k := 0; k < 16; k++ {
			scales[k] = int8(auxs[k/4] >> (8 * (k % 4)))
		}
		for j := 0; j < 16; j++ {
			for half := 0; half < 2; half++ {
				for l := 0; l < 8; l++ {
					aux16[l] = int16(q8[l]) * int16(a[l])
				}
				for l := 0; l < 8; l++ {
					aux32[l] += int32(scales[j]-32) * int32(aux16[l])
				}
				q8, a = q8[8:], a[8:]
			}
		}
		d := h32(xb[108:]) * yd
		for l := 0; l < 8; l++ {
			sums[l] += float32(d * float32(aux32[l]))
		}
	}
	var sumf float32
	for l := 0; l < 8; l++ {
		sumf += sums[l]
	}
	return sumf
}

// genQ45K is the generic q4_K (hasQH false) and q5_K kernel.
func genQ45K(n int, x, y []byte, q5 bool) float32 {
	const kmask1, kmask2, kmask3 = 0x3f3f3f3f, 0x0f0f0f0f, 0x03030303
	bb, qoff := 144, 16
	if q5 {
		bb, qoff = 176, 48
	}
	var utmp [4]uint32
	var aux8 [256]int8
	var aux16 [8]int16
	var sums [8]float32
	var aux32 [8]int32
	var sumf float32
	for i := 0; i < n/256; i++ {
		xb := x[i*bb:]
		yd, q8, bsums := q8KParts(y[i*292:])
		q4 := xb[qoff : qoff+128]
		hm := xb[16:48]
		aux32 = [8]int32{}
		a := aux8[:]
		m := uint8(1)
		for j := 0; j < 4; j++ {
			for l := 0; l < 32; l++ {
				a[l] = int8(q4[l] & 0xF)
			}
			if q5 {
				for l := 0; l < 32; l++ {
					if hm[l]&m != 0 {
						a[l] += 16
					}
				}
				m <<= 1
			}
			a = a[32:]
			for l := 0; l < 32; l++ {
				a[l] = int8(q4[l] >> 4)
			}
			if q5 {
				for l := 0; l < 32; l++ {
					if hm[l]&m != 0 {
						a[l] += 16
					}
				}
				m <<= 1
			}
			a = a[32:]
			q4 = q4[32:]
		}
		for k := 0; k < 3; k++ {
			utmp[k] = binary.LittleEndian.Uint32(xb[4+4*k:])
		}
		utmp[3] = ((utmp[2] >> 4) & kmask2) | (((utmp[1] >> 6) & kmask3) << 4)
		uaux := utmp[1] & kmask1
		utmp[1] = (utmp[2] & kmask2) | (((utmp[0] >> 6) & kmask3) << 4)
		utmp[2] = uaux
		utmp[0] &= kmask1
		var scales, mins [8]uint8
		for k := 0; k < 8; k++ {
			scales[k] = uint8(utmp[k/4] >> (8 * (k % 4)))
			mins[k] = uint8(utmp[2+k/4] >> (8 * (k % 4)))
		}
		var sumi int32
		for j := 0; j < 16; j++ {
			sumi += int32(bsums[j]) * int32(mins[j/2])
		}
		a = aux8[:]
		for j := 0; j < 8; j++ {
			scale := int32(scales[j])
			for r := 0; r < 4; r++ {
				for l := 0; l < 8; l++ {
					aux16[l] = int16(q8[l]) * int16(a[l])
				}
				for l := 0; l < 8; l++ {
					aux32[l] += scale * int32(aux16[l])
				}
				q8, a = q8[8:], a[8:]
			}
		}
		d := h32(xb) * yd
		for l := 0; l < 8; l++ {
			sums[l] += float32(d * float32(aux32[l]))
		}
		dmin := h32(xb[2:]) * yd
		sumf -= float32(dmin * float32(sumi))
	}
	for l := 0; l < 8; l++ {
		sumf += sums[l]
	}
	return sumf
}

func genQ6K(n int, x, y []byte) float32 {
	var aux8 [256]int8
	var aux16 [8]int16
	var sums [8]float32
	var aux32 [8]int32
	for i := 0; i < n/256; i++ {
		xb := x[i*210:]
		yd, q8, _ := q8KParts(y[i*292:])
		q4 := xb[0:128]
		qh := xb[128:192]
		aux32 = [8]int32{}
		a := aux8[:]
		for j := 0; j < 256; j += 128 {
			for l := 0; l < 32; l++ {
				a[l+0] = int8(q4[l+0]&0xF|((qh[l]>>0)&3)<<4) - 32
				a[l+32] = int8(q4[l+32]&0xF|((qh[l]>>2)&3)<<4) - 32
				a[l+64] = int8(q4[l+0]>>4|((qh[l]>>4)&3)<<4) - 32
				a[l+96] = int8(q4[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
			}
			a = a[128:]
			q4 = q4[64:]
			qh = qh[32:]
		}
		a = aux8[:]
		for j := 0; j < 16; j++ {
			scale := int32(int8(xb[192+j]))
			for half := 0; half < 2; half++ {
				for l := 0; l < 8; l++ {
					aux16[l] = int16(q8[l]) * int16(a[l])
				}
				for l := 0; l < 8; l++ {
					aux32[l] += scale * int32(aux16[l])
				}
				q8, a = q8[8:], a[8:]
			}
		}
		d := h32(xb[208:]) * yd
		for l := 0; l < 8; l++ {
			sums[l] += float32(d * float32(aux32[l]))
		}
	}
	var sumf float32
	for l := 0; l < 8; l++ {
		sumf += sums[l]
	}
	return sumf
}

func genFloat(t Type, n int, x, y []byte) float32 {
	var sum float64
	for i := 0; i < n; i++ {
		var a, b float32
		switch t {
		case F32:
			a = math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
			b = math.Float32frombits(binary.LittleEndian.Uint32(y[4*i:]))
		case F16:
			a, b = h32(x[2*i:]), h32(y[2*i:])
		case BF16:
			a, b = BF16ToFP32(le16(x[2*i:])), BF16ToFP32(le16(y[2*i:]))
		}
		sum += float64(float32(a * b))
	}
	return float32(sum)
}

// genericDot dispatches to the transliterations.
func genericDot(t Type, n int, w, x []byte) float32 {
	switch t {
	case F32, F16, BF16:
		return genFloat(t, n, w, x)
	case Q8_0:
		return genQ8_0(n, w, x)
	case Q4_0:
		return genQ4_0(n, w, x)
	case Q4_1:
		return genQ4_1(n, w, x)
	case Q5_0:
		return genQ5_0(n, w, x)
	case Q5_1:
		return genQ5_1(n, w, x)
	case Q2_K:
		return genQ2K(n, w, x)
	case Q3_K:
		return genQ3K(n, w, x)
	case Q4_K:
		return genQ45K(n, w, x, false)
	case Q5_K:
		return genQ45K(n, w, x, true)
	case Q6_K:
		return genQ6K(n, w, x)
	}
	panic(t)
}

// randomActivations returns n Gaussian activations with a few outliers, the
// shape real hidden states have.
func randomActivations(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
		if r.IntN(64) == 0 {
			x[i] *= 20
		}
	}
	return x
}

// q81Correction accounts for q8_1's s field: q4_1/q5_1 kernels use the
// stored s = fp16(d·Σq) for the min term m·Σx, so the exact value they
// approximate is the dequantized dot plus m·(s - Σx) per block.
func q81Correction(t Type, w, xq []byte, xf []float32) float64 {
	if VecDotType(t) != Q8_1 {
		return 0
	}
	var c float64
	for b := 0; b < len(xf)/32; b++ {
		m := float64(h32(w[b*t.BlockBytes()+2:]))
		s := float64(h32(xq[b*36+2:]))
		var sx float64
		for _, v := range xf[32*b : 32*b+32] {
			sx += float64(v)
		}
		c += m * (s - sx)
	}
	return c
}

// floatDot is Σ w·x in float64, and Σ|w·x| as the scale to judge errors by.
func floatDot(w, x []float32) (dot, mag float64) {
	for i := range w {
		p := float64(w[i]) * float64(x[i])
		dot += p
		mag += math.Abs(p)
	}
	return dot, mag
}

func TestDotQ(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, typ := range weightTypes {
		for _, n := range []int{256, 1024, 4096} {
			for trial := 0; trial < 5; trial++ {
				nb := n / typ.BlockSize()
				w := randomBlocks(r, typ, nb)
				x := randomActivations(r, n)
				vt := VecDotType(typ)
				rb, _ := vt.RowBytes(n)
				xq := make([]byte, rb)
				if err := Quantize(vt, x, xq); err != nil {
					t.Fatal(err)
				}
				got := DotQ(typ, n, w, xq)

				// Bit-exact against the transliterated generic C.
				if want := genericDot(typ, n, w, xq); math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("%s n=%d: DotQ = %v, generic ggml = %v", typ, n, got, want)
				}
				// Same math as the dequantized rows, up to float rounding.
				wf := make([]float32, n)
				xf := make([]float32, n)
				if err := Dequantize(typ, w, wf); err != nil {
					t.Fatal(err)
				}
				if err := Dequantize(vt, xq, xf); err != nil {
					t.Fatal(err)
				}
				want, mag := floatDot(wf, xf)
				want += q81Correction(typ, w, xq, xf)
				if rel := math.Abs(float64(got)-want) / mag; rel > 1e-5 {
					t.Errorf("%s n=%d: DotQ = %v, dequantized dot = %v (error %.2g of Σ|wx|)", typ, n, got, want, rel)
				}
				if d := DotRef(typ, w, x); d != got {
					t.Errorf("%s: DotRef = %v, DotQ = %v", typ, d, got)
				}
			}
		}
	}
}

// Extreme quants: all-max magnitudes must not overflow the int16/int32
// intermediate sums (ggml's aux16 holds q8*q products).
func TestDotQExtremes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 4096
	for _, typ := range weightTypes {
		for _, fill := range []byte{0x00, 0xff, 0x80, 0x7f} {
			w := randomBlocks(r, typ, n/typ.BlockSize())
			// Overwrite everything but the scale fields.
			sane := randomBlocks(r, typ, n/typ.BlockSize())
			for i := range w {
				w[i] = fill
			}
			restoreScales(typ, w, sane)
			xq := make([]byte, mustRowBytes(VecDotType(typ), n))
			x := make([]float32, n)
			for i := range x {
				x[i] = -1 // q8_K: max -1 -> quants -127 everywhere... or 127
				if i%2 == 0 {
					x[i] = 1
				}
			}
			if err := Quantize(VecDotType(typ), x, xq); err != nil {
				t.Fatal(err)
			}
			got := DotQ(typ, n, w, xq)
			if want := genericDot(typ, n, w, xq); math.Float32bits(got) != math.Float32bits(want) {
				t.Errorf("%s fill %#x: DotQ = %v, generic = %v", typ, fill, got, want)
			}
		}
	}
}

// restoreScales copies the scale fields of each block of src into dst.
func restoreScales(t Type, dst, src []byte) {
	var fields [][2]int
	switch t {
	case F32, F16, BF16:
		copy(dst, src)
		return
	case Q4_0, Q5_0, Q8_0:
		fields = [][2]int{{0, 2}}
	case Q4_1, Q5_1:
		fields = [][2]int{{0, 4}}
	case Q2_K:
		fields = [][2]int{{80, 84}}
	case Q3_K:
		fields = [][2]int{{108, 110}}
	case Q4_K, Q5_K:
		fields = [][2]int{{0, 4}}
	case Q6_K:
		fields = [][2]int{{208, 210}}
	}
	bb := t.BlockBytes()
	for o := 0; o < len(dst); o += bb {
		for _, f := range fields {
			copy(dst[o+f[0]:o+f[1]], src[o+f[0]:o+f[1]])
		}
	}
}

func mustRowBytes(t Type, n int) int {
	rb, err := t.RowBytes(n)
	if err != nil {
		panic(err)
	}
	return rb
}

func TestDotQPanics(t *testing.T) {
	for _, c := range []struct {
		name string
		t    Type
		n    int
		w, x int // byte lengths
	}{
		{"unsupported type", Q8_K, 256, 292, 292},
		{"unknown type", Type(99), 32, 64, 64},
		{"partial block", Q8_0, 48, 68, 68},
		{"short weights", Q4_K, 512, 144, 584},
		{"short activations", Q8_0, 64, 68, 34},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: DotQ did not panic", c.name)
				}
			}()
			DotQ(c.t, c.n, make([]byte, c.w), make([]byte, c.x))
		}()
	}
}

func TestNoAllocations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const n = 4096
	x := randomActivations(r, n)
	for _, typ := range []Type{F32, F16, BF16, Q8_0, Q8_1, Q8_K} {
		dst := make([]byte, mustRowBytes(typ, n))
		if a := testing.AllocsPerRun(10, func() { _ = Quantize(typ, x, dst) }); a != 0 {
			t.Errorf("Quantize(%s) allocates %v times", typ, a)
		}
	}
	for _, typ := range weightTypes {
		w := randomBlocks(r, typ, n/typ.BlockSize())
		xq := make([]byte, mustRowBytes(VecDotType(typ), n))
		if err := Quantize(VecDotType(typ), x, xq); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(10, func() { _ = DotQ(typ, n, w, xq) }); a != 0 {
			t.Errorf("DotQ(%s) allocates %v times", typ, a)
		}
	}
}

// BenchmarkDotQ measures one n=4096 row dot product; the reported
// throughput is weight bytes per second.
func BenchmarkDotQ(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	const n = 4096
	x := randomActivations(r, n)
	for _, typ := range weightTypes {
		w := randomBlocks(r, typ, n/typ.BlockSize())
		xq := make([]byte, mustRowBytes(VecDotType(typ), n))
		if err := Quantize(VecDotType(typ), x, xq); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/n=%d", typ, n), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			var s float32
			for b.Loop() {
				s += DotQ(typ, n, w, xq)
			}
			_ = s
		})
	}
}

// BenchmarkQuantizeActivations measures quantizing one n=4096 activation
// row to each vec_dot type (reported as float32 input bytes per second).
func BenchmarkQuantizeActivations(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	const n = 4096
	x := randomActivations(r, n)
	for _, typ := range []Type{F16, Q8_0, Q8_1, Q8_K} {
		dst := make([]byte, mustRowBytes(typ, n))
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(4 * n)
			for b.Loop() {
				_ = Quantize(typ, x, dst)
			}
		})
	}
}
