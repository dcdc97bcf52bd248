package quant

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

func isHalfNaN(h uint16) bool { return h&0x7c00 == 0x7c00 && h&0x3ff != 0 }

func TestFP16RoundTripExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := FP16ToFP32(h)
		if f != fp16ToFP32Slow(h) && !isHalfNaN(h) {
			t.Fatalf("table[%#04x] = %v, slow = %v", h, f, fp16ToFP32Slow(h))
		}
		if isHalfNaN(h) {
			if !math.IsNaN(float64(f)) {
				t.Fatalf("FP16ToFP32(%#04x) = %v, want NaN", h, f)
			}
			if g := FP32ToFP16(f); !isHalfNaN(g) || g&0x8000 != h&0x8000 {
				t.Fatalf("FP32ToFP16(NaN from %#04x) = %#04x", h, g)
			}
			continue
		}
		// Independent value check: sign * mant * 2^(exp-25) for normals.
		exp := int(h>>10) & 0x1f
		mant := float64(h & 0x3ff)
		var want float64
		switch exp {
		case 0:
			want = math.Ldexp(mant, -24)
		case 0x1f:
			want = math.Inf(1)
		default:
			want = math.Ldexp(1024+mant, exp-25)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want || math.Signbit(float64(f)) != (h&0x8000 != 0) {
			t.Fatalf("FP16ToFP32(%#04x) = %v, want %v", h, f, want)
		}
		if g := FP32ToFP16(f); g != h {
			t.Fatalf("FP32ToFP16(FP16ToFP32(%#04x)) = %#04x", h, g)
		}
	}
}

func TestFP16KnownValues(t *testing.T) {
	tiny := float32(math.Ldexp(1, -25)) // half the smallest subnormal: a tie
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{0.1, 0x2e66},
		{65504, 0x7bff},
		{65519.99, 0x7bff},
		{65520, 0x7c00}, // exactly halfway to the next binade: rounds to inf
		{1e10, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{6.1035156e-05, 0x0400}, // smallest normal
		{5.9604645e-08, 0x0001}, // smallest subnormal
		{tiny, 0x0000},          // tie, rounds to even (0)
		{math.Nextafter32(tiny, 1), 0x0001},
		{3 * tiny, 0x0002},                          // 1.5 ulp: tie, rounds to even (2)
		{float32(1 + math.Ldexp(1, -11)), 0x3c00},   // tie between 1 and 1+2^-10: even
		{float32(1 + 3*math.Ldexp(1, -11)), 0x3c02}, // tie: rounds up to even
		{float32(1 + math.Ldexp(1, -11) + math.Ldexp(1, -20)), 0x3c01},
		{float32(math.NaN()), 0x7e00},
	} {
		if got := FP32ToFP16(c.f); got != c.h {
			t.Errorf("FP32ToFP16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
}

// ggmlFP32ToFP16 is ggml_compute_fp32_to_fp16, the portable fallback of
// GGML_FP32_TO_FP16 (after Maratyszcza's FP16 library): an independent
// formulation to check FP32ToFP16 against.
func ggmlFP32ToFP16(f float32) uint16 {
	scaleToInf := float32(math.Ldexp(1, 112))
	scaleToZero := float32(math.Ldexp(1, -110))
	base := float32(abs32(f)*scaleToInf) * scaleToZero
	w := math.Float32bits(f)
	shl1W := w + w
	sign := w & 0x80000000
	bias := shl1W & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	expBits := (bits >> 13) & 0x00007c00
	mantBits := bits & 0x00000fff
	nonsign := expBits + mantBits
	if shl1W > 0xff000000 {
		nonsign = 0x7e00
	}
	return uint16(sign>>16) | uint16(nonsign)
}

func TestFP32ToFP16MatchesGGMLFallback(t *testing.T) {
	check := func(b uint32) {
		f := math.Float32frombits(b)
		if got, want := FP32ToFP16(f), ggmlFP32ToFP16(f); got != want {
			t.Fatalf("FP32ToFP16(%#08x = %g) = %#04x, ggml = %#04x", b, f, got, want)
		}
	}
	// Every pattern around the half-precision range boundaries and rounding
	// points, plus a strided sweep over all 2^32 patterns.
	for e := uint32(100); e <= 145; e++ {
		for m := uint32(0); m < 1<<23; m += 0xfff {
			for _, d := range []uint32{0, 1, 0x7ff, 0x800, 0x801, 0xfff, 0x1000, 0x1001} {
				check(e<<23 | (m+d)&0x7fffff)
				check(1<<31 | e<<23 | (m+d)&0x7fffff)
			}
		}
	}
	for b := uint64(0); b < 1<<32; b += 65521 {
		check(uint32(b))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		check(r.Uint32())
	}
}

func TestBF16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToFP32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16ToFP32(%#04x) bits %#08x", h, math.Float32bits(f))
		}
		g := FP32ToBF16(f)
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 { // NaN: quieted, sign kept
			if g != h|64 {
				t.Fatalf("FP32ToBF16(NaN %#04x) = %#04x, want %#04x", h, g, h|64)
			}
			continue
		}
		if g != h {
			t.Fatalf("FP32ToBF16(BF16ToFP32(%#04x)) = %#04x", h, g)
		}
	}
	for _, c := range []struct {
		bits uint32
		h    uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie: even
		{0x3f818000, 0x3f82}, // tie: even (up)
		{0x3f808001, 0x3f81},
		{0x7f7fffff, 0x7f80}, // max float rounds to inf, as in ggml
		{0x7f800001, 0x7fc0}, // signalling NaN forced quiet
		{0xffc00001, 0xffc0},
		{0x00000001, 0x0000}, // subnormals are rounded, not flushed
		{0x00008000, 0x0000},
		{0x00018000, 0x0002},
	} {
		if got := FP32ToBF16(math.Float32frombits(c.bits)); got != c.h {
			t.Errorf("FP32ToBF16(%#08x) = %#04x, want %#04x", c.bits, got, c.h)
		}
	}
}

// TestFP32ToFP16Exhaustive compares all 2^32 inputs with ggml's fallback
// (about a minute); run it with KILN_EXHAUSTIVE=1.
func TestFP32ToFP16Exhaustive(t *testing.T) {
	if os.Getenv("KILN_EXHAUSTIVE") == "" {
		t.Skip("set KILN_EXHAUSTIVE=1 to check all 2^32 float32 inputs")
	}
	for b := uint64(0); b < 1<<32; b++ {
		f := math.Float32frombits(uint32(b))
		if got, want := FP32ToFP16(f), ggmlFP32ToFP16(f); got != want {
			t.Fatalf("FP32ToFP16(%#08x) = %#04x, ggml = %#04x", b, got, want)
		}
	}
}

// roundf must equal C's roundf (half away from zero) on the q8 range.
func TestRoundf(t *testing.T) {
	check := func(f float32) {
		if got, want := roundf(f), int8(math.Round(float64(f))); got != want {
			t.Fatalf("roundf(%v) = %d, want %d", f, got, want)
		}
	}
	for b := uint32(0); b <= 0x43000000; b += 7 { // every 7th pattern up to 128
		check(math.Float32frombits(b))
		check(-math.Float32frombits(b))
	}
	for _, f := range []float32{0.5, -0.5, 1.5, -1.5, 126.5, -126.5, 0.49999997, -0.49999997, 127.00001} {
		check(f)
	}
}
