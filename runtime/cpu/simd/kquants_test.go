package simd

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// kquant describes one k-quant weight format for the tests.
type kquant struct {
	t      quant.Type
	bytes  int
	fp16   []int // offsets of the block's fp16 scales
	vector DotFunc
	lanes  func(n int, w, x []byte) float32
}

var kquants = []kquant{
	{quant.Q2_K, q2KBytes, []int{80, 82}, DotQ2_K, quant.DotQ2KLanes},
	{quant.Q3_K, q3KBytes, []int{108}, DotQ3_K, quant.DotQ3KLanes},
	{quant.Q4_K, q4KBytes, []int{0, 2}, DotQ4_K, quant.DotQ4KLanes},
	{quant.Q5_K, q5KBytes, []int{0, 2}, DotQ5_K, quant.DotQ5KLanes},
	{quant.Q6_K, q6KBytes, []int{208}, DotQ6_K, quant.DotQ6KLanes},
}

// randKRow returns a weight row of n elements: quantized from random floats
// (realistic scales) when quantized is set, else random bytes everywhere but
// in the fp16 scales, which get random finite values (every bit pattern of
// the other fields is a valid block).
func randKRow(r *rand.Rand, k kquant, n int, quantized bool) []byte {
	w := make([]byte, n/quant.QK_K*k.bytes)
	if quantized {
		if err := quant.Quantize(k.t, randRow(r, n, 0.02), w); err != nil {
			panic(err)
		}
		return w
	}
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	for b := 0; b < n/quant.QK_K; b++ {
		for _, off := range k.fp16 {
			// exponent 1..20 (0x0400..0x53ff): 6e-5 .. 60, either sign
			h := uint16(0x0400+r.IntN(0x5000)) | uint16(r.IntN(2))<<15
			binary.LittleEndian.PutUint16(w[b*k.bytes+off:], h)
		}
	}
	return w
}

func q8KRow(r *rand.Rand, n int, scale float32) []byte {
	x := make([]byte, n/quant.QK_K*q8KBytes)
	if err := quant.QuantizeActivation(quant.Q8_K, randRow(r, n, scale), x); err != nil {
		panic(err)
	}
	return x
}

// TestKQuantDotsMatchLanes requires the vector k-quant kernels to equal the
// plain-Go lane-ordered dots bit for bit on random rows of several lengths,
// both quantized from floats and with random quants and scales.
func TestKQuantDotsMatchLanes(t *testing.T) {
	t.Logf("kernel set: %s", Name())
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range kquants {
		for _, n := range []int{256, 512, 768, 1024, 4096, 256 * 37} {
			for trial := 0; trial < 30; trial++ {
				w := randKRow(r, k, n, trial%2 == 0)
				x := q8KRow(r, n, float32(0.01+10*r.Float64()))
				got, want := k.vector(n, w, x), k.lanes(n, w, x)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s n=%d trial %d: %s kernel %v, lanes %v", k.t, n, trial, Name(), got, want)
				}
			}
		}
		if useAVX2 {
			// The cpu runtime gets the vector kernel through Dot.
			w, x := randKRow(r, k, 1024, true), q8KRow(r, 1024, 1)
			if got, want := Dot(k.t)(1024, w, x), k.lanes(1024, w, x); math.Float32bits(got) != math.Float32bits(want) {
				t.Errorf("%s: Dot gives %v, lanes %v", k.t, got, want)
			}
		}
	}
}

// TestKQuantLanesNearGeneric checks that the lane-ordered dots compute the
// same dot product as ggml's generic order (quant.DotQ), up to rounding.
func TestKQuantLanesNearGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range kquants {
		for _, n := range []int{256, 1024, 4096} {
			for trial := 0; trial < 20; trial++ {
				w := randKRow(r, k, n, trial%2 == 0)
				x := q8KRow(r, n, 3)
				wf := make([]float32, n)
				xf := make([]float32, n)
				if err := quant.Dequantize(k.t, w, wf); err != nil {
					t.Fatal(err)
				}
				if err := quant.Dequantize(quant.Q8_K, x, xf); err != nil {
					t.Fatal(err)
				}
				var mag float64
				for i := range wf {
					mag += math.Abs(float64(wf[i]) * float64(xf[i]))
				}
				got, ref := k.lanes(n, w, x), quant.DotQ(k.t, n, w, x)
				if d := math.Abs(float64(got) - float64(ref)); d > 1e-5*mag {
					t.Fatalf("%s n=%d trial %d: lanes %v, generic %v (Σ|wx| %v)", k.t, n, trial, got, ref, mag)
				}
			}
		}
	}
}

// BenchmarkDotKQuants measures one 4096-element row against its Q8_K
// activations; the reported MB/s are weight bytes.
func BenchmarkDotKQuants(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	x := q8KRow(r, n, 3)
	for _, k := range kquants {
		w := randKRow(r, k, n, true)
		b.Run(k.t.String()+"/"+Name(), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for i := 0; i < b.N; i++ {
				k.vector(n, w, x)
			}
		})
		b.Run(k.t.String()+"/lanes", func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for i := 0; i < b.N; i++ {
				k.lanes(n, w, x)
			}
		})
		b.Run(k.t.String()+"/DotQ", func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for i := 0; i < b.N; i++ {
				quant.DotQ(k.t, n, w, x)
			}
		})
	}
}
