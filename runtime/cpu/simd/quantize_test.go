package simd

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// TestQuantizeQ8_0MatchesReference requires the vector quantizer to write the
// bytes quant.QuantizeActivation writes: random rows, all-zero blocks, and
// blocks whose scaled values land on .5 ties.
func TestQuantizeQ8_0MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{32, 64, 96, 576, 2048, 32 * 37, 8192} {
		for trial := 0; trial < 20; trial++ {
			x := randRow(r, n, float32(trial+1)*0.7)
			switch trial % 4 {
			case 1:
				for i := 0; i < min(n, 64); i++ {
					x[i] = 0
				}
			case 2: // amax 127: id = 1, so halves are ties
				for i := range x {
					x[i] = float32(r.IntN(255)-127) / 2
				}
				x[0] = 127
			case 3:
				x[n-1] = -x[n-1] * 40
			}
			want, got := make([]byte, n/32*34), make([]byte, n/32*34)
			if err := quant.QuantizeActivation(quant.Q8_0, x, want); err != nil {
				t.Fatal(err)
			}
			if err := QuantizeQ8_0(x, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d trial %d: %s quantizer differs from the reference", n, trial, Name())
			}
		}
	}
}

func BenchmarkQuantizeQ8_0(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 2048
	x := randRow(r, n, 3)
	dst := make([]byte, n/32*34)
	b.Run(Name(), func(b *testing.B) {
		b.SetBytes(4 * n)
		for i := 0; i < b.N; i++ {
			QuantizeQ8_0(x, dst)
		}
	})
	b.Run("generic", func(b *testing.B) {
		b.SetBytes(4 * n)
		for i := 0; i < b.N; i++ {
			quant.QuantizeActivation(quant.Q8_0, x, dst)
		}
	})
}
