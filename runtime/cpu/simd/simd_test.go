package simd

import (
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

func randRow(r *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64()) * scale
	}
	return x
}

// TestDotQ8_0MatchesReference requires bit-identical results to the plain-Go
// lane-ordered dot on random rows of many lengths.
func TestDotQ8_0MatchesReference(t *testing.T) {
	t.Logf("kernel set: %s", Name())
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{32, 64, 96, 256, 384, 1024, 4096, 32 * 37} {
		for trial := 0; trial < 20; trial++ {
			w := make([]byte, n/32*34)
			x := make([]byte, n/32*34)
			if err := quant.Quantize(quant.Q8_0, randRow(r, n, 0.02), w); err != nil {
				t.Fatal(err)
			}
			if err := quant.QuantizeActivation(quant.Q8_0, randRow(r, n, 3), x); err != nil {
				t.Fatal(err)
			}
			got := DotQ8_0(n, w, x)
			want := quant.DotActivation(quant.Q8_0, n, w, x)
			if got != want {
				t.Fatalf("n=%d trial %d: %s kernel %v, reference %v", n, trial, Name(), got, want)
			}
		}
	}
}

func BenchmarkDotQ8_0(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	w := make([]byte, n/32*34)
	x := make([]byte, n/32*34)
	quant.Quantize(quant.Q8_0, randRow(r, n, 0.02), w)
	quant.QuantizeActivation(quant.Q8_0, randRow(r, n, 3), x)
	b.Run(Name(), func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for i := 0; i < b.N; i++ {
			DotQ8_0(n, w, x)
		}
	})
	b.Run("generic", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for i := 0; i < b.N; i++ {
			quant.DotActivation(quant.Q8_0, n, w, x)
		}
	})
}
