package simd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// TestDotQ6_Kx4MatchesOneRow checks the four-row Q6_K kernel against four
// DotQ6_K calls bit for bit, on quantized and on random-byte rows, with a
// stride longer than a row.
func TestDotQ6_Kx4MatchesOneRow(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	k := kquants[4]
	if k.t != quant.Q6_K {
		t.Fatal("kquants[4] is not Q6_K")
	}
	if !useQ6KDecode {
		t.Log("no AVX-512 VNNI/BW here: DotQ6_Kx4 runs four DotQ6_K calls")
	}
	for _, nb := range []int{1, 2, 3, 8} {
		n := nb * quant.QK_K
		for _, quantized := range []bool{true, false} {
			for rep := 0; rep < 10; rep++ {
				rb := nb * q6KBytes
				stride := rb + 7
				w := make([]byte, 3*stride+rb)
				for row := 0; row < 4; row++ {
					copy(w[row*stride:], randKRow(r, k, n, quantized))
				}
				x := q8KRow(r, n, 1)
				var out [4]float32
				DotQ6_Kx4(n, w, stride, x, out[:])
				for row := 0; row < 4; row++ {
					want := DotQ6_K(n, w[row*stride:row*stride+rb], x)
					if math.Float32bits(out[row]) != math.Float32bits(want) {
						t.Fatalf("nb %d quantized %v row %d: %v, one-row kernel %v", nb, quantized, row, out[row], want)
					}
				}
			}
		}
	}
}

func BenchmarkDotQ6_K(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 2048
	nb := n / quant.QK_K
	rb := nb * q6KBytes
	w := make([]byte, 4*rb)
	for row := 0; row < 4; row++ {
		copy(w[row*rb:], randKRow(r, kquants[4], n, true))
	}
	x := q8KRow(r, n, 1)
	var out [4]float32
	b.Run("x1", func(b *testing.B) {
		for b.Loop() {
			for row := 0; row < 4; row++ {
				out[row] = DotQ6_K(n, w[row*rb:(row+1)*rb], x)
			}
		}
	})
	b.Run("x4", func(b *testing.B) {
		for b.Loop() {
			DotQ6_Kx4(n, w, rb, x, out[:])
		}
	})
}

// BenchmarkDotQ6_KMatrix streams a 16 MiB Q6_K matrix (beyond the caches)
// through the one-row and the four-row kernels.
func BenchmarkDotQ6_KMatrix(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, rows = 2048, 8192
	rb := n / quant.QK_K * q6KBytes
	row := randKRow(r, kquants[4], n, true)
	w := make([]byte, rows*rb)
	for i := 0; i < rows; i++ {
		copy(w[i*rb:], row)
	}
	x := q8KRow(r, n, 1)
	out := make([]float32, rows)
	b.SetBytes(int64(len(w)))
	b.Run("x1", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for b.Loop() {
			for i := 0; i < rows; i++ {
				out[i] = DotQ6_K(n, w[i*rb:(i+1)*rb], x)
			}
		}
	})
	b.Run("x4", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for b.Loop() {
			for i := 0; i < rows; i += 4 {
				DotQ6_Kx4(n, w[i*rb:], rb, x, out[i:i+4])
			}
		}
	})
}
