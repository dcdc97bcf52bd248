package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// weightTypes are the GGUF weight formats with a dot product.
var weightTypes = []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

// specElem decodes element e of one block straight from the layout as
// ggml-common.h documents it, one element at a time: where its bits live
// and which scale applies. It is deliberately written element-wise, unlike
// the block loops of Dequantize. Float operations follow ggml's order.
func specElem(t Type, b []byte, e int) float32 {
	h16 := func(off int) float32 { return FP16ToFP32(le16(b[off:])) }
	bit := func(off, i int) int { return int(b[off+i/8]>>(i%8)) & 1 }
	switch t {
	case Q4_0:
		return float32(int(b[2+e%16]>>(4*(e/16))&15)-8) * h16(0)
	case Q4_1:
		return float32(float32(b[4+e%16]>>(4*(e/16))&15)*h16(0)) + h16(2)
	case Q5_0:
		q := int(b[6+e%16]>>(4*(e/16))&15) | bit(2, e)<<4
		return float32(q-16) * h16(0)
	case Q5_1:
		q := int(b[8+e%16]>>(4*(e/16))&15) | bit(4, e)<<4
		return float32(float32(q)*h16(0)) + h16(2)
	case Q8_0:
		return float32(int8(b[2+e])) * h16(0)
	case Q8_1:
		return float32(int8(b[4+e])) * h16(0)
	case Q8_K:
		return math.Float32frombits(binary.LittleEndian.Uint32(b)) * float32(int8(b[4+e]))
	case Q2_K:
		// 2-bit quant: byte 32*(e/128) + e%32, bits 2*((e%128)/32); scale
		// and min nibbles of scales[e/16].
		q := b[16+32*(e/128)+e%32] >> (2 * ((e % 128) / 32)) & 3
		sc := b[e/16]
		return float32(h16(80)*float32(sc&15)*float32(q)) - h16(82)*float32(sc>>4)
	case Q3_K:
		q := int(b[32+32*(e/128)+e%32]>>(2*((e%128)/32))) & 3
		if b[e%32]>>(e/32)&1 == 0 { // hmask byte e%32, bit e/32
			q -= 4
		}
		j := e / 16 // 6-bit scale j: low nibble from byte j%8 (hi nibble if j>=8), top 2 bits from byte 8+j%4
		lo := int(b[96+j%8]>>(4*(j/8))) & 15
		hi := int(b[104+j%4]>>(2*(j/4))) & 3
		return float32(h16(108)*float32(lo|hi<<4-32)) * float32(q)
	case Q4_K, Q5_K:
		j := e / 32
		s := b[4:16]
		var sc, m int
		if j < 4 {
			sc, m = int(s[j]&63), int(s[j+4]&63)
		} else {
			sc = int(s[j+4]&15) | int(s[j-4]>>6)<<4
			m = int(s[j+4]>>4) | int(s[j]>>6)<<4
		}
		qoff := 16
		q := 0
		if t == Q5_K {
			qoff = 48
			q = bit(16, (e%32)*8+e/32) << 4 // qh byte e%32, bit e/32
		}
		q |= int(b[qoff+32*(e/64)+e%32]>>(4*((e%64)/32))) & 15
		return float32(h16(0)*float32(sc)*float32(q)) - h16(2)*float32(m)
	case Q6_K:
		h, r := e/128, e%128
		k, l := r/32, r%32
		lo := int(b[64*h+32*(k&1)+l]>>(4*(k>>1))) & 15
		hi := int(b[128+32*h+l]>>(2*k)) & 3
		q := lo | hi<<4 - 32
		return float32(h16(208)*float32(int8(b[192+e/16]))) * float32(q)
	}
	panic("specElem: " + t.String())
}

// randomBlocks returns nb random blocks of t whose fp16/f32 scale fields
// hold sane positive values and whose other bytes are random.
func randomBlocks(r *rand.Rand, t Type, nb int) []byte {
	bb := t.BlockBytes()
	b := make([]byte, nb*bb)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	half := func(off int, lo, hi float64) {
		binary.LittleEndian.PutUint16(b[off:], FP32ToFP16(float32(lo+(hi-lo)*r.Float64())))
	}
	for i := 0; i < nb; i++ {
		o := i * bb
		switch t {
		case F32:
			binary.LittleEndian.PutUint32(b[o:], math.Float32bits(float32(r.NormFloat64())))
		case F16:
			half(o, -2, 2)
		case BF16:
			binary.LittleEndian.PutUint16(b[o:], FP32ToBF16(float32(r.NormFloat64())))
		case Q4_0, Q5_0, Q8_0:
			half(o, -0.01, 0.01)
		case Q4_1, Q5_1, Q8_1:
			half(o, 0, 0.01)
			half(o+2, -0.1, 0.1)
		case Q2_K:
			half(o+80, 0, 0.01)
			half(o+82, 0, 0.01)
		case Q3_K:
			half(o+108, -0.01, 0.01)
		case Q4_K, Q5_K:
			half(o, 0, 0.01)
			half(o+2, 0, 0.01)
		case Q6_K:
			half(o+208, -0.01, 0.01)
		case Q8_K:
			binary.LittleEndian.PutUint32(b[o:], math.Float32bits(float32(0.01*r.Float64())))
		}
	}
	return b
}

func TestDequantizeMatchesLayoutSpec(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, typ := range []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q8_K, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} {
		const nb = 64
		src := randomBlocks(r, typ, nb)
		bs := typ.BlockSize()
		dst := make([]float32, nb*bs)
		if err := Dequantize(typ, src, dst); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < nb; i++ {
			blk := src[i*typ.BlockBytes() : (i+1)*typ.BlockBytes()]
			for e := 0; e < bs; e++ {
				if want := specElem(typ, blk, e); dst[i*bs+e] != want {
					t.Fatalf("%s block %d element %d: got %v, spec %v", typ, i, e, dst[i*bs+e], want)
				}
			}
		}
	}
}

func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, FP32ToFP16(f)) }

// Hand-built blocks with known fields and the numbers they must decode to.
func TestDequantizeHandBlocks(t *testing.T) {
	check := func(typ Type, blk []byte, want map[int]float32) {
		t.Helper()
		dst := make([]float32, typ.BlockSize())
		if err := Dequantize(typ, blk, dst); err != nil {
			t.Fatal(err)
		}
		for e, w := range want {
			if dst[e] != w {
				t.Errorf("%s element %d = %v, want %v", typ, e, dst[e], w)
			}
		}
	}

	// q4_0: d = 0.5, qs[j] = j | (15-j)<<4: element j = (j-8)/2, j+16 = (7-j)/2.
	b := make([]byte, 18)
	putHalf(b, 0.5)
	for j := 0; j < 16; j++ {
		b[2+j] = byte(j) | byte(15-j)<<4
	}
	check(Q4_0, b, map[int]float32{0: -4, 8: 0, 15: 3.5, 16: 3.5, 31: -4})

	// q4_1: d = 0.25, m = -1: element = q/4 - 1.
	b = make([]byte, 20)
	putHalf(b, 0.25)
	putHalf(b[2:], -1)
	b[4+3] = 0xf2
	check(Q4_1, b, map[int]float32{0: -1, 3: -0.5, 19: 2.75})

	// q5_0: d = 1; element 0 has qh bit 0 (=16+q-16 = q), element 17 has qh
	// bit 17 clear (q-16), element 31 has bit 31 set.
	b = make([]byte, 22)
	putHalf(b, 1)
	binary.LittleEndian.PutUint32(b[2:], 1|1<<31)
	b[6+0] = 0x05 // element 0: q=5, element 16: q=0
	b[6+1] = 0x70 // element 1: 0, element 17: 7
	b[6+15] = 0xf0
	check(Q5_0, b, map[int]float32{0: 5, 16: -16, 1: -16, 17: -9, 31: 15})

	// q5_1: d = 2, m = 3.
	b = make([]byte, 24)
	putHalf(b, 2)
	putHalf(b[2:], 3)
	binary.LittleEndian.PutUint32(b[4:], 1<<16)
	b[8] = 0x1f
	check(Q5_1, b, map[int]float32{0: 33, 16: 37, 1: 3})

	// q8_0: d = -0.125.
	b = make([]byte, 34)
	putHalf(b, -0.125)
	b[2], b[3], b[33] = 0x80, 8, 127
	check(Q8_0, b, map[int]float32{0: 16, 1: -1, 31: -15.875})

	// q2_K: d = 1, dmin = 0.5; group 0 scale 3 min 2, group 15 scale 15 min 15.
	b = make([]byte, 84)
	putHalf(b[80:], 1)
	putHalf(b[82:], 0.5)
	b[0], b[15] = 0x23, 0xff
	b[16+0] = 0b11_10_01_00 // elements 0, 32, 64, 96 (groups 0, 2, 4, 6) = 0,1,2,3
	b[16+32+31] = 0b11_00_00_00
	check(Q2_K, b, map[int]float32{0: -1, 32: 0, 255: 15*3 - 7.5})

	// q3_K: d = 0.5. Scale 0: low nibble 1 (byte 0), top bits 2 (byte 8,
	// bits 0-1) = 33-32 = 1. Scale 3: all zero = -32. Scale 9: low nibble 15
	// (high nibble of byte 1), top bits 1 (byte 9, bits 4-5) = 31-32 = -1.
	b = make([]byte, 110)
	putHalf(b[108:], 0.5)
	b[96+0] = 0x01
	b[96+1] = 0xf0
	b[104+0] = 0b10
	b[104+1] = 0b01 << 4
	b[32+0] = 0b11       // element 0: low bits 3 ...
	b[0] = 1             // ... and its hmask bit (byte 0, bit 0) set: q = 3
	b[32+17] = 0b10 << 2 // element 49 (half 0, plane 1, byte 17): 2, no hmask bit: -2
	b[32+32+22] = 0b10   // element 150 (half 1, plane 0, byte 22): 2-4 = -2
	check(Q3_K, b, map[int]float32{0: 0.5 * 1 * 3, 1: 0.5 * 1 * -4, 49: 0.5 * -32 * -2, 150: 0.5 * -1 * -2})

	// q4_K: d = 1, dmin = 0.5; 6-bit scales {1,2,3,4,17,33,49,63} and mins
	// {0,5,10,15,20,40,60,63}; every quant byte 0x21 (low 1, high 2).
	b = make([]byte, 144)
	putHalf(b, 1)
	putHalf(b[2:], 0.5)
	packK4(b[4:16], [8]int{1, 2, 3, 4, 17, 33, 49, 63}, [8]int{0, 5, 10, 15, 20, 40, 60, 63})
	for i := 16; i < 144; i++ {
		b[i] = 0x21
	}
	check(Q4_K, b, map[int]float32{0: 1, 32: 1.5, 64: -2, 96: 0.5, 128: 7, 160: 46, 192: 19, 224: 94.5, 255: 94.5})

	// q5_K: as q4_K plus fifth bits: element 0 (qh[0] bit 0) and 255
	// (qh[31] bit 7) set.
	b = make([]byte, 176)
	putHalf(b, 1)
	putHalf(b[2:], 0.5)
	packK4(b[4:16], [8]int{1, 2, 3, 4, 17, 33, 49, 63}, [8]int{0, 5, 10, 15, 20, 40, 60, 63})
	b[16+0] = 1
	b[16+31] = 0x80
	for i := 48; i < 176; i++ {
		b[i] = 0x21
	}
	check(Q5_K, b, map[int]float32{0: 17, 1: 1, 32: 1.5, 224: 94.5, 255: 63*18 - 31.5})

	// q6_K: d = 0.25, scales[g] = g-8, quant of element e = e%64 (minus 32).
	b = make([]byte, 210)
	putHalf(b[208:], 0.25)
	for g := 0; g < 16; g++ {
		b[192+g] = byte(int8(g - 8))
	}
	for e := 0; e < 256; e++ {
		q := e % 64
		h, r := e/128, e%128
		k, l := r/32, r%32
		b[64*h+32*(k&1)+l] |= byte(q&15) << (4 * (k >> 1))
		b[128+32*h+l] |= byte(q>>4) << (2 * k)
	}
	check(Q6_K, b, map[int]float32{0: 64, 1: 62, 63: 0.25 * -5 * 31, 64: 0.25 * -4 * -32, 255: 0.25 * 7 * 31})
}

// packK4 writes 6-bit scales and mins into a q4_K/q5_K scales field: pairs
// 0-3 in the low 6 bits of bytes 0-3 / 4-7; pairs 4-7 as nibbles in bytes
// 8-11 (scale low, min high) with their top 2 bits in bits 6-7 of bytes 0-3
// (scales) and 4-7 (mins).
func packK4(s []byte, sc, m [8]int) {
	for j := 0; j < 4; j++ {
		s[j] = byte(sc[j]) | byte(sc[j+4]>>4)<<6
		s[j+4] = byte(m[j]) | byte(m[j+4]>>4)<<6
		s[j+8] = byte(sc[j+4]&15) | byte(m[j+4]&15)<<4
	}
}

// roundTripBound is the largest relative RMS error of Quantize then
// Dequantize on Gaussian data that each format may show (measured values
// are about two thirds of these).
var roundTripBound = map[Type]float64{
	F32: 0, F16: 5e-4, BF16: 4e-3,
	Q8_0: 0.008, Q8_1: 0.008, Q8_K: 0.01,
	Q4_0: 0.12, Q4_1: 0.10, Q5_0: 0.06, Q5_1: 0.05,
	Q2_K: 0.40, Q3_K: 0.22, Q4_K: 0.10, Q5_K: 0.05, Q6_K: 0.025,
}

func TestQuantizeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 4096
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.02 * r.NormFloat64())
	}
	for _, typ := range []Type{F32, F16, BF16, Q8_0, Q8_1, Q8_K, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} {
		rb, _ := typ.RowBytes(n)
		q := make([]byte, rb)
		if err := Quantize(typ, x, q); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		y := make([]float32, n)
		if err := Dequantize(typ, q, y); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		var se, sx float64
		for i := range x {
			d := float64(x[i] - y[i])
			se += d * d
			sx += float64(x[i]) * float64(x[i])
		}
		rel := math.Sqrt(se / sx)
		t.Logf("%-5s relative RMS error %.5f", typ, rel)
		if rel > roundTripBound[typ] {
			t.Errorf("%s: relative RMS error %.4f > %.4f", typ, rel, roundTripBound[typ])
		}
	}
}

func TestQuantizeEdgeCases(t *testing.T) {
	for _, typ := range []Type{Q8_0, Q8_1, Q8_K, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} {
		n := typ.BlockSize() * 2
		rb, _ := typ.RowBytes(n)
		// All zeros must give zeros (no NaN from 0/0 scales).
		q := make([]byte, rb)
		for i := range q {
			q[i] = 0xa5 // stale contents must not leak through
		}
		if err := Quantize(typ, make([]float32, n), q); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, n)
		if err := Dequantize(typ, q, y); err != nil {
			t.Fatal(err)
		}
		for i, v := range y {
			if v != 0 {
				t.Fatalf("%s: zeros decode to %v at %d", typ, v, i)
			}
		}
		// A constant row.
		x := make([]float32, n)
		for i := range x {
			x[i] = -0.75
		}
		if err := Quantize(typ, x, q); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(typ, q, y); err != nil {
			t.Fatal(err)
		}
		for i, v := range y {
			if math.Abs(float64(v+0.75)) > 0.1 {
				t.Fatalf("%s: constant -0.75 decodes to %v at %d", typ, v, i)
			}
		}
		// Wrong lengths are errors.
		if err := Quantize(typ, x[:n-1], q); err == nil {
			t.Errorf("%s: Quantize accepted a partial block", typ)
		}
		if err := Quantize(typ, x, q[:rb-1]); err == nil {
			t.Errorf("%s: Quantize accepted a short dst", typ)
		}
		if err := Dequantize(typ, q[:rb-1], y); err == nil {
			t.Errorf("%s: Dequantize accepted a short src", typ)
		}
	}
	if err := Quantize(I32, make([]float32, 4), make([]byte, 16)); err == nil {
		t.Error("Quantize(I32) succeeded")
	}
	if err := Dequantize(Type(99), nil, nil); err == nil {
		t.Error("Dequantize(unknown) succeeded")
	}
}

// The reference quantizers are bit-exact ports; a few hand-checked blocks
// pin the q8 activation rules: q8_0 rounds half away from zero (roundf),
// q8_K rounds half to even (nearest_int) with iscale = -127/max.
func TestActivationQuantizerRules(t *testing.T) {
	x := make([]float32, 32)
	x[0] = 127  // amax: d = 1, id = 1
	x[1] = 2.5  // roundf: 3
	x[2] = -2.5 // roundf: -3
	x[3] = 0.49999997
	q := make([]byte, 34)
	if err := Quantize(Q8_0, x, q); err != nil {
		t.Fatal(err)
	}
	if FP16ToFP32(le16(q)) != 1 || int8(q[2]) != 127 || int8(q[3]) != 3 || int8(q[4]) != -3 || q[5] != 0 {
		t.Errorf("q8_0 block = d %v, qs %v", FP16ToFP32(le16(q)), q[2:6])
	}
	q1 := make([]byte, 36)
	if err := Quantize(Q8_1, x, q1); err != nil {
		t.Fatal(err)
	}
	if s := FP16ToFP32(le16(q1[2:])); s != 127 {
		t.Errorf("q8_1 s = %v, want 127", s)
	}

	xk := make([]float32, 256)
	xk[0] = -127 // max (signed) = -127: iscale = 1
	xk[1] = 2.5  // nearest even: 2
	xk[2] = 3.5  // 4
	xk[16] = -0.5
	qk := make([]byte, 292)
	if err := Quantize(Q8_K, xk, qk); err != nil {
		t.Fatal(err)
	}
	d := math.Float32frombits(binary.LittleEndian.Uint32(qk))
	if d != 1 || int8(qk[4]) != -127 || int8(qk[5]) != 2 || int8(qk[6]) != 4 || qk[20] != 0 {
		t.Errorf("q8_K block = d %v qs %v", d, qk[4:8])
	}
	if b0 := int16(le16(qk[260:])); b0 != -121 {
		t.Errorf("q8_K bsums[0] = %d, want -121", b0)
	}
	// A positive max gives a negative iscale, so quants flip sign and d < 0.
	xk[0] = 127
	if err := Quantize(Q8_K, xk, qk); err != nil {
		t.Fatal(err)
	}
	if d := math.Float32frombits(binary.LittleEndian.Uint32(qk)); d != -1 || int8(qk[4]) != -127 {
		t.Errorf("q8_K positive max: d %v, q0 %d", d, int8(qk[4]))
	}
}

func TestVecDotType(t *testing.T) {
	want := map[Type]Type{
		F32: F32, F16: F16, BF16: BF16,
		Q4_0: Q8_0, Q5_0: Q8_0, Q8_0: Q8_0, Q4_1: Q8_1, Q5_1: Q8_1,
		Q2_K: Q8_K, Q3_K: Q8_K, Q4_K: Q8_K, Q5_K: Q8_K, Q6_K: Q8_K,
	}
	for typ, w := range want {
		if got := VecDotType(typ); got != w {
			t.Errorf("VecDotType(%s) = %s, want %s", typ, got, w)
		}
	}
}
