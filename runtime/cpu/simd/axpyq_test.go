package simd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// TestAxpyQMatchesReference checks AxpyQ bit for bit against dequantizing
// the row and ops.AxpyFMA, on rows of 1 to 8 blocks.
func TestAxpyQMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0} {
		for nb := 1; nb <= 8; nb++ {
			n := 32 * nb
			x, row := make([]float32, n), make([]float32, n)
			v := make([]byte, nb*map[quant.Type]int{quant.Q8_0: 34, quant.Q4_0: 18}[typ])
			got, want := make([]float32, n), make([]float32, n)
			for rep := 0; rep < 20; rep++ {
				for i := range x {
					x[i] = float32(r.NormFloat64() * 3)
					got[i] = float32(r.NormFloat64())
				}
				copy(want, got)
				if err := quant.QuantizeActivation(typ, x, v); err != nil {
					t.Fatal(err)
				}
				p := float32(r.Float64())
				if !AxpyQ(typ, got, p, v) {
					if useAVX2 || useNEON {
						t.Fatalf("%s: AxpyQ declined %d values", typ, n)
					}
					t.Skip("no vector AxpyQ on this machine")
				}
				if err := quant.Dequantize(typ, v, row); err != nil {
					t.Fatal(err)
				}
				ops.AxpyFMA(want, p, row)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s n %d: acc[%d] = %v, reference %v", typ, n, i, got[i], want[i])
					}
				}
			}
		}
	}
	if AxpyQ(quant.Q4_K, make([]float32, 256), 1, make([]byte, 144)) {
		t.Errorf("AxpyQ claims Q4_K")
	}
}
