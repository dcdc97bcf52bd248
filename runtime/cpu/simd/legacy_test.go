package simd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

var legacyMinDots = []struct {
	t    quant.Type
	dot  func(int, []byte, []byte) float32
	lane func(int, []byte, []byte) float32
}{
	{quant.Q4_1, DotQ4_1, quant.DotLanesQ4_1},
	{quant.Q5_1, DotQ5_1, quant.DotLanesQ5_1},
}

// legacyRow returns a weight row of type t: quantized from random floats on
// even trials, random bytes with sane fp16 scale and minimum on odd ones.
func legacyRow(r *rand.Rand, t quant.Type, n, trial int) []byte {
	rb, _ := t.RowBytes(n)
	w := make([]byte, rb)
	if trial%2 == 0 {
		row := randRow(r, n, 0.02)
		for i := range row {
			row[i] += 0.01 // a nonzero block minimum
		}
		quant.Quantize(t, row, w)
		return w
	}
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	bb := t.BlockBytes()
	for b := 0; b < n/32; b++ {
		w[b*bb], w[b*bb+1] = byte(r.IntN(256)), 0x20   // d ≈ 0.008
		w[b*bb+2], w[b*bb+3] = byte(r.IntN(256)), 0xa0 // m ≈ -0.008
	}
	return w
}

// TestLegacyMinDotsMatchLanes requires the Q4_1 and Q5_1 kernels to equal
// their plain-Go twins bit for bit, and the twins to be the dot product
// quant.DotQ computes up to float rounding.
func TestLegacyMinDotsMatchLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range legacyMinDots {
		for _, n := range []int{32, 64, 96, 256, 576, 2048, 4096, 32 * 37} {
			for trial := 0; trial < 20; trial++ {
				w := legacyRow(r, c.t, n, trial)
				x := make([]byte, n/32*36)
				quant.QuantizeActivation(quant.Q8_1, randRow(r, n, 3), x)
				got, want := c.dot(n, w, x), c.lane(n, w, x)
				if got != want {
					t.Fatalf("%s n=%d trial %d: %s kernel %v, lanes %v", c.t, n, trial, Name(), got, want)
				}
				if ref := quant.DotQ(c.t, n, w, x); math.Abs(float64(want-ref)) > 1e-5*(1+math.Abs(float64(ref))) {
					t.Fatalf("%s n=%d trial %d: lanes %v, DotQ %v", c.t, n, trial, want, ref)
				}
			}
		}
	}
}

// TestGemmDotsMatchLanes does the same for the batched-path F16, BF16 and
// F32 dots, including lengths that are not a multiple of 8 (F16 and BF16
// fall back to quant.DotActivation there).
func TestGemmDotsMatchLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{1, 7, 8, 16, 31, 32, 64, 100, 172, 256, 1000, 4096} {
		for trial := 0; trial < 20; trial++ {
			wf, xf := randRow(r, n, 0.05), randRow(r, n, 2)
			w, x := make([]byte, 2*n), make([]byte, 2*n)
			quant.Quantize(quant.F16, wf, w)
			quant.QuantizeActivation(quant.F16, xf, x)
			got, want := DotF16Gemm(n, w, x), quant.DotLanesF16Gemm(n, w, x)
			if got != want {
				t.Fatalf("F16 n=%d trial %d: %s kernel %v, lanes %v", n, trial, Name(), got, want)
			}
			if n%8 != 0 {
				if ref := quant.DotActivation(quant.F16, n, w, x); want != ref {
					t.Fatalf("F16 n=%d: lanes %v, DotActivation %v", n, want, ref)
				}
			}
			if ref := quant.DotQ(quant.F16, n, w, x); math.Abs(float64(want-ref)) > 1e-5*(1+math.Abs(float64(ref))) {
				t.Fatalf("F16 n=%d trial %d: lanes %v, DotQ %v", n, trial, want, ref)
			}
			wb, xb := make([]byte, 2*n), make([]byte, 2*n)
			quant.Quantize(quant.BF16, wf, wb)
			quant.QuantizeActivation(quant.BF16, xf, xb)
			if got, want := DotBF16Gemm(n, wb, xb), quant.DotLanesBF16Gemm(n, wb, xb); got != want {
				t.Fatalf("BF16 n=%d trial %d: %s kernel %v, lanes %v", n, trial, Name(), got, want)
			} else if ref := quant.DotQ(quant.BF16, n, wb, xb); math.Abs(float64(want-ref)) > 1e-5*(1+math.Abs(float64(ref))) {
				t.Fatalf("BF16 n=%d trial %d: lanes %v, DotQ %v", n, trial, want, ref)
			}
			if n%8 == 0 {
				if got, want := DotF32Gemm(wf, xf), quant.DotLanesF32Gemm(wf, xf); got != want {
					t.Fatalf("F32 n=%d trial %d: %s kernel %v, lanes %v", n, trial, Name(), got, want)
				}
			}
		}
	}
}

// TestDotGemm checks which types have a distinct batched-path dot.
func TestDotGemm(t *testing.T) {
	for _, typ := range []quant.Type{quant.F16, quant.BF16} {
		if DotGemm(typ) == nil {
			t.Errorf("DotGemm(%s) is nil", typ)
		}
	}
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q4_K} {
		if DotGemm(typ) != nil {
			t.Errorf("DotGemm(%s) is not nil", typ)
		}
	}
}

// BenchmarkDotLegacy reports GB/s of weight bytes for n=4096 rows: the
// registered kernel against quant.DotQ (the scalar ggml order) for each type.
func BenchmarkDotLegacy(b *testing.B) {
	const n = 4096
	for _, c := range []struct {
		t   quant.Type
		dot DotFunc
	}{
		{quant.Q4_1, DotQ4_1},
		{quant.Q5_1, DotQ5_1},
		{quant.F16, DotF16Gemm},
		{quant.BF16, DotBF16Gemm},
	} {
		r := rand.New(rand.NewPCG(1, 2))
		rb, _ := c.t.RowBytes(n)
		vt := quant.VecDotType(c.t)
		xb, _ := vt.RowBytes(n)
		w, x := make([]byte, rb), make([]byte, xb)
		quant.Quantize(c.t, randRow(r, n, 0.02), w)
		quant.QuantizeActivation(vt, randRow(r, n, 3), x)
		name := c.t.String()
		if c.t == quant.F16 {
			name = "f16gemm"
		}
		b.Run(name+"/"+Name(), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for i := 0; i < b.N; i++ {
				c.dot(n, w, x)
			}
		})
		b.Run(name+"/DotQ", func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for i := 0; i < b.N; i++ {
				quant.DotQ(c.t, n, w, x)
			}
		})
	}
}
