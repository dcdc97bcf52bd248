package simd

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// TestDecodeMatchesReference requires the four- and eight-row Q4_0 and
// Q8_0 kernels to equal quant.DotActivation bit for bit for every row, with
// each kernel variant the CPU has (VNNI and AVX2 on amd64).
func TestDecodeMatchesReference(t *testing.T) {
	eachDecodeVariant(t, testDecodeRows)
}

// TestDecodeVariants runs the four-row, k-quant and matrix-matrix tests
// (whose leftover tokens go through the decode kernels) with each variant.
func TestDecodeVariants(t *testing.T) {
	eachDecodeVariant(t, func(t *testing.T) {
		t.Run("dot4", TestDot4MatchesSingle)
		t.Run("kquants", TestKQuantDotsMatchLanes)
		t.Run("gemm", TestGemmMatchesDot)
	})
}

// testDecodeRows feeds the kernels quantized rows and rows of random quant
// bytes (every value) with sane fp16 scales, odd block counts and padded
// strides. Activations are quantized, or random bytes other than -128,
// which the activation quantizer never emits (the AVX2 sign trick wraps it).
func testDecodeRows(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, k := range []struct {
		typ    quant.Type
		x4, x8 func(int, []byte, int, []byte, []float32)
	}{{quant.Q4_0, DotQ4_0x4, DotQ4_0x8}, {quant.Q8_0, DotQ8_0x4, DotQ8_0x8}} {
		for _, n := range []int{32, 64, 96, 32 * 7, 576, 2048, 32 * 37} {
			for trial := 0; trial < 8; trial++ {
				testDecodeCase(t, r, k.typ, n, trial, k.x4, k.x8)
			}
		}
	}
}

// testDecodeCase checks one row length and trial of one format.
func testDecodeCase(t *testing.T, r *rand.Rand, typ quant.Type, n, trial int, x4, x8 func(int, []byte, int, []byte, []float32)) {
	t.Helper()
	rb, _ := typ.RowBytes(n)
	bs := rb / (n / 32)
	stride := rb + r.IntN(3)*5
	w := make([]byte, 8*stride)
	for i := 0; i < 8; i++ {
		row := w[i*stride : i*stride+rb]
		if (i+trial)%2 == 0 {
			quant.Quantize(typ, randRow(r, n, 0.02), row)
			continue
		}
		for j := range row {
			row[j] = byte(r.Uint32())
		}
		for b := 0; b < n/32; b++ {
			row[b*bs+1] = 0x20 // sane fp16 scale
		}
	}
	x := make([]byte, n/32*34)
	if trial%2 == 0 {
		quant.QuantizeActivation(quant.Q8_0, randRow(r, n, 3), x)
	} else {
		for i := range x {
			if x[i] = byte(r.Uint32()); x[i] == 0x80 {
				x[i] = 0x81
			}
		}
		for b := 0; b < n/32; b++ {
			x[b*34+1] = 0x24
		}
	}
	var out [8]float32
	x4(n, w, stride, x, out[:4])
	x4(n, w[4*stride:], stride, x, out[4:])
	check := func(kernel string) {
		t.Helper()
		for i := range out {
			want := quant.DotActivation(typ, n, w[i*stride:i*stride+rb], x)
			if out[i] != want {
				t.Fatalf("%s %s n=%d trial %d row %d: %v, reference %v", typ, kernel, n, trial, i, out[i], want)
			}
		}
	}
	check("x4")
	out = [8]float32{}
	x8(n, w, stride, x, out[:])
	check("x8")
	if d8 := Dot8(typ); d8 != nil {
		out = [8]float32{}
		d8(n, w, stride, x, out[:])
		check("Dot8")
	}
}

// BenchmarkDecode times the Q4_0 and Q8_0 matrix-vector kernels per
// weight row (K=2048, 64 rows: 72 or 136 KiB of weights, cache-resident, so
// this measures compute, not DRAM) for each variant.
func BenchmarkDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, rows = 2048, 64
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0} {
		rb, _ := typ.RowBytes(n)
		w := make([]byte, rows*rb)
		for i := 0; i < rows; i++ {
			quant.Quantize(typ, randRow(r, n, 0.02), w[i*rb:(i+1)*rb])
		}
		x := make([]byte, n/32*34)
		quant.QuantizeActivation(quant.Q8_0, randRow(r, n, 3), x)
		out := make([]float32, rows)
		eachDecodeVariantB(b, func(b *testing.B, name string) {
			for _, k := range []struct {
				rows int
				f    func(int, []byte, int, []byte, []float32)
			}{{4, Dot4(typ)}, {8, Dot8(typ)}} {
				if k.f == nil {
					continue
				}
				b.Run(fmt.Sprintf("%s/%s/x%d", typ, name, k.rows), func(b *testing.B) {
					b.SetBytes(int64(rows * rb))
					for i := 0; i < b.N; i++ {
						for j := 0; j < rows; j += k.rows {
							k.f(n, w[j*rb:], rb, x, out[j:])
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
				})
			}
		})
	}
}

// BenchmarkDecodeKQuants times the one-row Q4_K and Q6_K kernels per
// weight row (K=2048, 64 rows, cache-resident) for each variant.
func BenchmarkDecodeKQuants(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, rows = 2048, 64
	x := q8KRow(r, n, 3)
	for _, typ := range []quant.Type{quant.Q4_K, quant.Q6_K} {
		rb, _ := typ.RowBytes(n)
		w := make([]byte, rows*rb)
		for i := 0; i < rows; i++ {
			quant.Quantize(typ, randRow(r, n, 0.02), w[i*rb:(i+1)*rb])
		}
		dot := Dot(typ)
		eachDecodeVariantB(b, func(b *testing.B, name string) {
			b.Run(typ.String()+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(rows * rb))
				for i := 0; i < b.N; i++ {
					for j := 0; j < rows; j++ {
						dot(n, w[j*rb:(j+1)*rb], x)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
			})
		})
	}
}
