package simd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops"
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

// TestF32KernelsMatchReference requires the vector F32 dot and FMA axpy to
// equal ops' plain-Go versions bit for bit, tails included.
func TestF32KernelsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 8, 31, 32, 33, 64, 100, 128, 515} {
		for trial := 0; trial < 20; trial++ {
			x, y := randRow(r, n, 1), randRow(r, n, 1)
			if got, want := DotF32(x, y), ops.DotF32(x, y); got != want {
				t.Fatalf("DotF32 n=%d: %v, reference %v", n, got, want)
			}
			acc1 := randRow(r, n, 1)
			acc2 := append([]float32(nil), acc1...)
			p := float32(r.NormFloat64())
			AxpyFMA(acc1, p, x)
			ops.AxpyFMA(acc2, p, x)
			for i := range acc1 {
				if acc1[i] != acc2[i] {
					t.Fatalf("AxpyFMA n=%d i=%d: %v, reference %v", n, i, acc1[i], acc2[i])
				}
			}
		}
	}
}

// TestSwiGLUMatchesReference requires the vector swiglu to equal
// ops.SwiGLURow bit for bit, including rows that need expf's slow path.
func TestSwiGLUMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 8, 13, 64, 172, 1024} {
		for _, scale := range []float32{0.1, 3, 30, 100} {
			g, u := randRow(r, n, scale), randRow(r, n, 1)
			got, want := make([]float32, n), make([]float32, n)
			SwiGLURow(got, g, u)
			ops.SwiGLURow(want, g, u)
			for i := range got {
				if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("n=%d scale=%g i=%d g=%v: %v, reference %v", n, scale, i, g[i], got[i], want[i])
				}
			}
		}
	}
}

func BenchmarkSwiGLU(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	g, u, y := randRow(r, 1024, 2), randRow(r, 1024, 1), make([]float32, 1024)
	b.Run(Name(), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			SwiGLURow(y, g, u)
		}
	})
	b.Run("generic", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ops.SwiGLURow(y, g, u)
		}
	})
}

// TestSoftmaxMatchesReference requires the vector softmax to equal
// ops.SoftmaxInPlace bit for bit, with and without masked (-inf) entries,
// and to give NaN where it does on a NaN input.
func TestSoftmaxMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 7, 8, 9, 64, 200, 513} {
		for _, scale := range []float32{0.5, 5, 40} {
			for masked := range 3 {
				x := randRow(r, n, scale)
				switch masked {
				case 1:
					x[0] = float32(math.Inf(-1))
				case 2:
					x[n/2] = float32(math.NaN())
				}
				got, want := append([]float32(nil), x...), append([]float32(nil), x...)
				SoftmaxInPlace(got)
				ops.SoftmaxInPlace(want)
				for i := range got {
					if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
						t.Fatalf("n=%d scale=%g case %d i=%d: %v, reference %v", n, scale, masked, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestDotQ8_0x4MatchesSingle requires the four-row kernel to equal four
// single-row dots bit for bit.
func TestDotQ8_0x4MatchesSingle(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{32, 64, 384, 1024} {
		rb := n / 32 * 34
		w := make([]byte, 4*rb)
		for i := 0; i < 4; i++ {
			quant.Quantize(quant.Q8_0, randRow(r, n, 0.02), w[i*rb:(i+1)*rb])
		}
		x := make([]byte, rb)
		quant.QuantizeActivation(quant.Q8_0, randRow(r, n, 3), x)
		var out [4]float32
		DotQ8_0x4(n, w, rb, x, out[:])
		for i := 0; i < 4; i++ {
			if want := quant.DotActivation(quant.Q8_0, n, w[i*rb:(i+1)*rb], x); out[i] != want {
				t.Fatalf("n=%d row %d: %v, want %v", n, i, out[i], want)
			}
		}
	}
}

func BenchmarkDotQ8_0x4(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	rb := n / 32 * 34
	w := make([]byte, 4*rb)
	for i := 0; i < 4; i++ {
		quant.Quantize(quant.Q8_0, randRow(r, n, 0.02), w[i*rb:(i+1)*rb])
	}
	x := make([]byte, rb)
	quant.QuantizeActivation(quant.Q8_0, randRow(r, n, 3), x)
	var out [4]float32
	b.SetBytes(int64(len(w)))
	for i := 0; i < b.N; i++ {
		DotQ8_0x4(n, w, rb, x, out[:])
	}
}
