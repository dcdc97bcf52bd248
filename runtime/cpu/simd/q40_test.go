package simd

import (
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// TestLegacyDotsMatchReference requires the Q4_0 and Q5_0 kernels to equal
// quant.DotActivation bit for bit, on quantized rows and on random bytes.
func TestLegacyDotsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, c := range []struct {
		t   quant.Type
		dot func(int, []byte, []byte) float32
	}{{quant.Q4_0, DotQ4_0}, {quant.Q5_0, DotQ5_0}, {quant.F16, DotF16}} {
		for _, n := range []int{32, 64, 172, 576, 2048, 32 * 37} {
			if n%32 != 0 && c.t != quant.F16 {
				continue
			}
			for trial := 0; trial < 20; trial++ {
				rb, _ := c.t.RowBytes(n)
				w := make([]byte, rb)
				if trial%2 == 0 || c.t == quant.F16 {
					quant.Quantize(c.t, randRow(r, n, 0.02), w)
				} else {
					for i := range w {
						w[i] = byte(r.Uint32())
					}
					for b := 0; b < n/32; b++ { // sane fp16 scales
						w[b*(rb/(n/32))] = byte(r.IntN(256))
						w[b*(rb/(n/32))+1] = 0x20
					}
				}
				vt := quant.VecDotType(c.t)
				xb, _ := vt.RowBytes(n)
				x := make([]byte, xb)
				quant.QuantizeActivation(vt, randRow(r, n, 3), x)
				got, want := c.dot(n, w, x), quant.DotActivation(c.t, n, w, x)
				if got != want {
					t.Fatalf("%s n=%d trial %d: %v, reference %v", c.t, n, trial, got, want)
				}
			}
		}
	}
}

// TestDot4MatchesSingle requires every four-row kernel to equal four single dots.
func TestDot4MatchesSingle(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0} {
		for _, n := range []int{32, 576, 2048} {
			rb, _ := typ.RowBytes(n)
			w := make([]byte, 4*rb)
			for i := 0; i < 4; i++ {
				quant.Quantize(typ, randRow(r, n, 0.02), w[i*rb:(i+1)*rb])
			}
			x := make([]byte, n/32*34)
			quant.QuantizeActivation(quant.Q8_0, randRow(r, n, 3), x)
			var out [4]float32
			Dot4(typ)(n, w, rb, x, out[:])
			for i := range out {
				if want := quant.DotActivation(typ, n, w[i*rb:(i+1)*rb], x); out[i] != want {
					t.Fatalf("%s n=%d row %d: %v, want %v", typ, n, i, out[i], want)
				}
			}
		}
	}
}
