package simd

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
	"golang.org/x/sys/cpu"
)

// eachNEONVariant runs f with the SDOT kernels (where the CPU has the
// dot-product extension) and with the plain NEON ones.
func eachNEONVariant(t *testing.T, f func(t *testing.T)) {
	saved := useDotProd
	defer setDotProd(saved)
	for _, on := range []bool{true, false} {
		if on && !cpu.ARM64.HasASIMDDP {
			t.Logf("CPU has no dot-product extension: SDOT kernels not tested here")
			continue
		}
		setDotProd(on)
		t.Run(neonName(), f)
	}
}

// TestNEONQuantVariants runs the quantized-dot tests against both kernel
// variants, whichever one start-up chose.
func TestNEONQuantVariants(t *testing.T) {
	eachNEONVariant(t, func(t *testing.T) {
		t.Run("q8_0", TestDotQ8_0MatchesReference)
		t.Run("legacy", TestLegacyDotsMatchReference)
		t.Run("legacymin", TestLegacyMinDotsMatchLanes)
		t.Run("dot4", TestDot4MatchesSingle)
		t.Run("q8_0x4", TestDotQ8_0x4MatchesSingle)
		t.Run("kquants", TestKQuantDotsMatchLanes)
		t.Run("bytes", testNEONRandomBytes)
	})
}

// testNEONRandomBytes feeds the Q8_0 and Q4_0 kernels, one row and four,
// random quant bytes (int8 -128 included, which quantizers never emit)
// with sane fp16 scales, and compares with quant.DotActivation.
func testNEONRandomBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0} {
		for _, n := range []int{32, 64, 160, 2048} {
			rb, _ := typ.RowBytes(n)
			bs := rb / (n / 32)
			w := make([]byte, 4*rb)
			x := make([]byte, n/32*34)
			for trial := 0; trial < 10; trial++ {
				for i := range w {
					w[i] = byte(r.Uint32())
				}
				for i := range x {
					x[i] = byte(r.Uint32())
				}
				if trial == 0 { // all -128: the largest products
					for i := range w {
						w[i], x[i%len(x)] = 0x80, 0x80
					}
				}
				for b := 0; b < 4*n/32; b++ {
					binary.LittleEndian.PutUint16(w[b*bs:], uint16(0x1000+r.IntN(0x3000)))
				}
				for b := 0; b < n/32; b++ {
					binary.LittleEndian.PutUint16(x[b*34:], uint16(0x1000+r.IntN(0x3000)))
				}
				var out [4]float32
				Dot4(typ)(n, w, rb, x, out[:])
				for row := 0; row < 4; row++ {
					wr := w[row*rb : (row+1)*rb]
					want := quant.DotActivation(typ, n, wr, x)
					if got := Dot(typ)(n, wr, x); got != want {
						t.Fatalf("%s n=%d trial %d row %d: %v, reference %v", typ, n, trial, row, got, want)
					}
					if out[row] != want {
						t.Fatalf("%s x4 n=%d trial %d row %d: %v, reference %v", typ, n, trial, row, out[row], want)
					}
				}
			}
		}
	}
}

// TestNEONDotRegistry checks that Dot hands out the NEON kernels and that
// they agree with the plain-Go reference through it.
func TestNEONDotRegistry(t *testing.T) {
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q5_0, quant.Q4_1, quant.Q5_1,
		quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.F16} {
		if _, ok := dots[typ]; !ok {
			t.Errorf("%s: no NEON kernel registered", typ)
		}
	}
	r := rand.New(rand.NewPCG(23, 24))
	for _, typ := range []quant.Type{quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		const n = 512
		rb, _ := typ.RowBytes(n)
		w := make([]byte, rb)
		quant.Quantize(typ, randRow(r, n, 0.02), w)
		x := q8KRow(r, n, 3)
		if got, want := Dot(typ)(n, w, x), quant.DotActivation(typ, n, w, x); got != want {
			t.Errorf("%s: %v, reference %v", typ, got, want)
		}
	}
}

// TestNEONF16Halves runs the F16 dot on random finite halves of every
// magnitude (products then span float32's range), tails included.
func TestNEONF16Halves(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	half := func() uint16 {
		for {
			h := uint16(r.Uint32())
			if h&0x7c00 != 0x7c00 { // not inf or NaN
				return h
			}
		}
	}
	for _, n := range []int{32, 33, 64, 100, 4096} {
		for trial := 0; trial < 10; trial++ {
			w, x := make([]byte, 2*n), make([]byte, 2*n)
			for i := 0; i < n; i++ {
				binary.LittleEndian.PutUint16(w[2*i:], half())
				binary.LittleEndian.PutUint16(x[2*i:], half())
			}
			if got, want := DotF16(n, w, x), quant.DotActivation(quant.F16, n, w, x); got != want && !(got != got && want != want) {
				t.Fatalf("n=%d trial %d: %v, reference %v", n, trial, got, want)
			}
		}
	}
}

// TestNEONExpMatchesExpF compares the vector exp (through expSubNEON with
// m = 0) with ops.ExpF over its whole fast range, edges included.
func TestNEONExpMatchesExpF(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	xs := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, -86.99, 86.99, -87, -0.5, 0.5, 1, -1, 10, -10}
	for len(xs) < 1<<16 {
		xs = append(xs, (r.Float32()*2-1)*87)
	}
	for len(xs)%4 != 0 {
		xs = xs[:len(xs)-1]
	}
	y := append([]float32(nil), xs...)
	expSubNEON(len(y)/4, &y[0], 0)
	for i, x := range xs {
		if want := ops.ExpF(x); y[i] != want {
			t.Fatalf("exp(%v) = %v, ops.ExpF %v", x, y[i], want)
		}
	}
	g := append([]float32(nil), xs...)
	u := randRow(r, len(g), 1)
	got, want := make([]float32, len(g)), make([]float32, len(g))
	SwiGLURow(got, g, u)
	ops.SwiGLURow(want, g, u)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("swiglu(%v, %v) = %v, ops %v", g[i], u[i], got[i], want[i])
		}
	}
}

// TestNEONBF16Gemm checks the BF16 batched dot against its definition: one
// 8-lane accumulator acc[l] = fma(w, x, acc[l]) over exactly widened bf16s,
// reduced as hsum_float_8 (quant.DotLanesBF16Gemm's order).
func TestNEONBF16Gemm(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, n := range []int{8, 16, 64, 264, 2048} {
		for trial := 0; trial < 10; trial++ {
			w, x := make([]byte, 2*n), make([]byte, 2*n)
			var acc [8]float32
			for i := 0; i < n; i++ {
				a, b := quant.FP32ToBF16(float32(r.NormFloat64())), quant.FP32ToBF16(float32(r.NormFloat64()))
				binary.LittleEndian.PutUint16(w[2*i:], a)
				binary.LittleEndian.PutUint16(x[2*i:], b)
				acc[i%8] = quant.FMA32(quant.BF16ToFP32(a), quant.BF16ToFP32(b), acc[i%8])
			}
			r0, r1, r2, r3 := acc[4]+acc[0], acc[5]+acc[1], acc[6]+acc[2], acc[7]+acc[3]
			want := (r0 + r2) + (r1 + r3)
			if got := neonDotBF16Gemm(n, w, x); got != want {
				t.Fatalf("n=%d trial %d: %v, want %v", n, trial, got, want)
			}
		}
	}
}

// quantTestBlock fills x with one kind of block, picked at random, for the
// quantizer tests: normal values at scales from 1e-38 to 1e38, all zeros
// (±0), ties (amax = 127·2^e, so id = 2^-e and (k+½)·2^e scale to halves),
// huge values (d overflows fp16), fp16-subnormal d, tiny values (127/amax
// overflows: the Go loops' int8 of ±Inf and NaN products), Inf and NaN
// lanes, raw random bits (signaling NaNs included), all NaNs, and blocks
// where +m and -m both reach amax (the first one sets Q8_K's sign).
func quantTestBlock(r *rand.Rand, x []float32) {
	n := len(x)
	switch kind := r.IntN(11); kind {
	case 0:
		s := float32(math.Pow(10, float64(r.IntN(77)-38)))
		for i := range x {
			x[i] = float32(r.NormFloat64()) * s
		}
	case 1:
		for i := range x {
			x[i] = float32(math.Copysign(0, float64(r.IntN(2)*2-1)))
		}
	case 2:
		e := r.IntN(60) - 30
		for i := range x {
			x[i] = float32(math.Ldexp(float64(r.IntN(255)-127)/2, e))
		}
		x[r.IntN(n)] = float32(math.Ldexp(float64(127*(r.IntN(2)*2-1)), e))
	case 3:
		for i := range x {
			x[i] = float32(r.NormFloat64()) * 3e37
		}
		x[r.IntN(n)] = math.MaxFloat32
	case 4:
		for i := range x {
			x[i] = float32(r.NormFloat64()) * 2e-6
		}
	case 5:
		for i := range x {
			x[i] = math.Float32frombits(r.Uint32()&0x807fffff) * float32(r.IntN(2)) // subnormals and zeros
		}
		x[r.IntN(n)] = 2e-37 * float32(r.IntN(2)*2-1)
	case 6:
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for k := 0; k < 3; k++ {
			x[r.IntN(n)] = []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
				math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000)}[r.IntN(5)]
		}
	case 7:
		for i := range x {
			x[i] = math.Float32frombits(r.Uint32())
		}
	case 8:
		for i := range x {
			x[i] = []float32{float32(math.NaN()), math.Float32frombits(0x7f800001), math.Float32frombits(0xff800123)}[r.IntN(3)]
		}
	case 9:
		m := float32(r.NormFloat64()) * 3
		for i := range x {
			x[i] = float32(r.IntN(1000)) / 1000 * m
		}
		for k := 0; k < 1+r.IntN(4); k++ {
			x[r.IntN(n)] = m * float32(r.IntN(2)*2-1)
		}
	default:
		for i := range x {
			x[i] = float32(r.NormFloat64()) * 4
		}
	}
}

// TestNEONQuantizeQ8_0 compares the NEON Q8_0 quantizer with
// quant.QuantizeActivation byte for byte on rows of quantTestBlock blocks.
func TestNEONQuantizeQ8_0(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, n := range []int{32, 64, 96, 160, 1024, 4096, 32 * 129} {
		for trial := 0; trial < 40; trial++ {
			x := make([]float32, n)
			for b := 0; b < n/32; b++ {
				quantTestBlock(r, x[b*32:b*32+32])
			}
			want := make([]byte, n/32*34)
			if err := quant.QuantizeActivation(quant.Q8_0, x, want); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, n/32*34+1)
			got[len(got)-1] = 0xa5
			neonQuantizeQ8_0(x, got)
			if got[len(got)-1] != 0xa5 {
				t.Fatalf("n=%d trial %d: wrote past the end", n, trial)
			}
			for b := 0; b < n/32; b++ {
				if g, w := got[b*34:b*34+34], want[b*34:b*34+34]; string(g) != string(w) {
					t.Fatalf("n=%d trial %d block %d: %x, reference %x (x = %v)", n, trial, b, g, w, x[b*32:b*32+32])
				}
			}
			got2 := make([]byte, len(want))
			if err := QuantizeQ8_0(x, got2); err != nil || string(got2) != string(want) {
				t.Fatalf("n=%d trial %d: QuantizeQ8_0 (%v) differs from the reference", n, trial, err)
			}
		}
	}
}

// TestNEONQuantizeQ8_K compares the NEON Q8_K quantizer with
// quant.QuantizeActivation byte for byte: super-blocks of one
// quantTestBlock kind, and super-blocks mixing kinds in 32s; dst starts
// dirty, since zero blocks must be written whole.
func TestNEONQuantizeQ8_K(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	for _, n := range []int{256, 512, 768, 4096} {
		for trial := 0; trial < 60; trial++ {
			x := make([]float32, n)
			for b := 0; b < n/256; b++ {
				xb := x[b*256 : b*256+256]
				if r.IntN(2) == 0 {
					quantTestBlock(r, xb)
				} else {
					for k := 0; k < 8; k++ {
						quantTestBlock(r, xb[32*k:32*k+32])
					}
				}
			}
			nb := n / 256
			want := make([]byte, nb*q8KBytes)
			if err := quant.QuantizeActivation(quant.Q8_K, x, want); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, nb*q8KBytes+1)
			for i := range got {
				got[i] = 0xa5
			}
			neonQuantizeQ8_K(x, got)
			if got[len(got)-1] != 0xa5 {
				t.Fatalf("n=%d trial %d: wrote past the end", n, trial)
			}
			for b := 0; b < nb; b++ {
				if g, w := got[b*q8KBytes:(b+1)*q8KBytes], want[b*q8KBytes:(b+1)*q8KBytes]; string(g) != string(w) {
					t.Fatalf("n=%d trial %d block %d:\n%x\nreference\n%x\n(x = %v)", n, trial, b, g, w, x[b*256:b*256+256])
				}
			}
			got2 := make([]byte, len(want))
			if err := QuantizeQ8_K(x, got2); err != nil || string(got2) != string(want) {
				t.Fatalf("n=%d trial %d: QuantizeQ8_K (%v) differs from the reference", n, trial, err)
			}
		}
	}
}

// sameFloat reports whether a and b are the same bits, or both NaN (NaN
// payloads are not kept alike by the plain-Go FMA and the hardware's).
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// randHalf returns a random fp16: often a special one (±0, ±inf, quiet and
// signaling NaNs, subnormals, the largest finite), else random finite bits
// or a normal value near 1.
func randHalf(r *rand.Rand) uint16 {
	switch r.IntN(8) {
	case 0:
		sp := []uint16{0, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfd55, 0x0001, 0x83ff, 0x0200, 0x7bff, 0xfbff}
		return sp[r.IntN(len(sp))]
	case 1:
		return uint16(r.IntN(0x400)) | uint16(r.IntN(2))<<15 // subnormal
	case 2, 3:
		for {
			if h := uint16(r.Uint32()); h&0x7c00 != 0x7c00 {
				return h
			}
		}
	}
	return quant.FP32ToFP16(float32(r.NormFloat64()))
}

// TestNEONAxpyF16 compares the NEON f16 value update with ops.AxpyF16 bit
// for bit on random halves (specials included), tails of every length.
func TestNEONAxpyF16(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{1, 3, 15, 16, 17, 31, 32, 48, 64, 100, 128, 255, 256} {
		for trial := 0; trial < 20; trial++ {
			v := make([]byte, 2*n+2) // a trailing half AxpyF16 must not touch
			for i := 0; i < n+1; i++ {
				binary.LittleEndian.PutUint16(v[2*i:], randHalf(r))
			}
			got, want := make([]float32, n), make([]float32, n)
			for i := range got {
				got[i] = float32(r.NormFloat64() * 8)
				if trial%5 == 4 {
					got[i] = math.Float32frombits(r.Uint32())
				}
				want[i] = got[i]
			}
			p := []float32{float32(r.Float64()), 0, -1, 3e38, 1e-40, float32(math.Inf(1))}[trial%6]
			AxpyF16(got, p, v[:2*n])
			ops.AxpyF16(want, p, v[:2*n])
			for i := range got {
				if !sameFloat(got[i], want[i]) {
					t.Fatalf("n=%d trial %d p=%v: element %d = %v, reference %v", n, trial, p, i, got[i], want[i])
				}
			}
		}
	}
}

// TestNEONTurboScores compares the NEON turbo scores (every width, many
// keys with a stride, and the one-key TurboDot) with ops.TurboScores and
// kvquant.TurboDot bit for bit: packed keys, and raw random code bytes
// under random fp16 scales (specials included), so every code of every
// lane is looked up.
func TestNEONTurboScores(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, typ := range []kvquant.Type{kvquant.Turbo3, kvquant.Turbo4, kvquant.Turbo5} {
		bits := typ.Bits()
		for _, hd := range []int{16, 32, 48, 64, 96, 128, 256} {
			if bits == 3 && hd%32 != 0 {
				continue // the 3-bit layout comes in units of 32
			}
			pow2 := hd&(hd-1) == 0 // Pack and RotateQuery need a Hadamard size
			hb := typ.HeadBytes(hd)
			const nkeys, pad = 37, 5
			stride := hb + pad
			keys := make([]byte, nkeys*stride)
			signs := kvquant.Signs(1, 2, hd)
			x, q, qr, tmp := make([]float32, hd), make([]float32, hd), make([]float32, hd), make([]float32, hd)
			for trial := 0; trial < 4; trial++ {
				for j := 0; j < nkeys; j++ {
					key := keys[j*stride : j*stride+hb]
					if pow2 && (j+trial)%2 == 0 {
						for i := range x {
							x[i] = float32(r.NormFloat64() * 3)
						}
						kvquant.Pack(typ, key, x, signs, tmp)
					} else {
						for i := range key {
							key[i] = byte(r.Uint32())
						}
						binary.LittleEndian.PutUint16(key, randHalf(r))
					}
					for i := hb; i < stride; i++ {
						keys[j*stride+i] = byte(r.Uint32())
					}
				}
				for i := range q {
					q[i] = float32(r.NormFloat64())
				}
				if pow2 {
					kvquant.RotateQuery(qr, q, signs, 0.125)
				} else {
					copy(qr, q)
				}
				if trial == 3 {
					qr[r.IntN(hd)] = float32(math.Inf(1))
				}
				got, want := make([]float32, nkeys), make([]float32, nkeys)
				TurboScores(bits, keys[:(nkeys-1)*stride+hb], stride, qr, got)
				ops.TurboScores(bits, keys, stride, qr, want)
				for j := range got {
					if !sameFloat(got[j], want[j]) {
						t.Fatalf("%s hd %d trial %d: key %d = %v, reference %v", typ, hd, trial, j, got[j], want[j])
					}
					k := keys[j*stride : j*stride+hb]
					if d := TurboDot(bits, k, qr); !sameFloat(d, want[j]) {
						t.Fatalf("%s hd %d trial %d: TurboDot key %d = %v, reference %v", typ, hd, trial, j, d, want[j])
					}
				}
			}
		}
	}
}
