package simd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// TestQuantizeQ8_KMatchesReference compares QuantizeQ8_K with
// quant.QuantizeActivation byte for byte on super-blocks of normal values
// at scales from 1e-38 to 1e38, zeros, ties, a largest magnitude reached
// by both signs, tiny values (iscale overflows: the reference's int8
// conversion wraps), Inf and NaN lanes and all-NaN blocks; dst starts
// dirty, since zero blocks must be written whole.
func TestQuantizeQ8_KMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	fill := func(x []float32) {
		switch r.IntN(9) {
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
			x[r.IntN(len(x))] = float32(math.Ldexp(float64(127*(r.IntN(2)*2-1)), e))
		case 3:
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			m := float32(5)
			x[r.IntN(len(x))], x[r.IntN(len(x))] = m, -m
		case 4:
			for i := range x {
				x[i] = math.Float32frombits(r.Uint32()&0x807fffff) * float32(r.IntN(2)) // subnormals and zeros
			}
		case 5:
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			x[r.IntN(len(x))] = float32(math.Inf(r.IntN(2)*2 - 1))
		case 6:
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			x[r.IntN(len(x))] = float32(math.NaN())
		case 7:
			for i := range x {
				x[i] = float32(math.NaN())
			}
		default:
			for i := range x {
				x[i] = math.Float32frombits(r.Uint32())
			}
		}
	}
	for _, n := range []int{256, 512, 1536, 4096} {
		for trial := 0; trial < 80; trial++ {
			x := make([]float32, n)
			for b := 0; b < n/256; b++ {
				xb := x[b*256 : b*256+256]
				if r.IntN(2) == 0 {
					fill(xb)
				} else {
					for k := 0; k < 8; k++ {
						fill(xb[32*k : 32*k+32])
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
			if err := QuantizeQ8_K(x, got[:nb*q8KBytes]); err != nil {
				t.Fatal(err)
			}
			if got[len(got)-1] != 0xa5 {
				t.Fatalf("n=%d trial %d: wrote past the end", n, trial)
			}
			for b := 0; b < nb; b++ {
				if g, w := got[b*q8KBytes:(b+1)*q8KBytes], want[b*q8KBytes:(b+1)*q8KBytes]; string(g) != string(w) {
					t.Fatalf("n=%d trial %d block %d:\n%x\nreference\n%x\n(x = %v)", n, trial, b, g, w, x[b*256:b*256+256])
				}
			}
		}
	}
}

func BenchmarkQuantizeQ8_K(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x := randRow(r, 4096, 1)
	dst := make([]byte, 16*q8KBytes)
	b.Run("simd", func(b *testing.B) {
		for b.Loop() {
			_ = QuantizeQ8_K(x, dst)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			_ = quant.QuantizeActivation(quant.Q8_K, x, dst)
		}
	})
}
