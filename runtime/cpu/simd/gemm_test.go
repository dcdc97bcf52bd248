package simd

import (
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// scaleHigh has the offsets of the high bytes of each block's fp16 scales.
var scaleHigh = map[quant.Type][]int{quant.Q8_0: {1}, quant.Q4_0: {1}, quant.Q4_K: {1, 3}, quant.Q6_K: {209}, quant.Q5_0: {1}, quant.Q5_K: {1, 3}, quant.Q3_K: {109}, quant.Q2_K: {81, 83}, quant.Q4_1: {1, 3}, quant.Q5_1: {1, 3}}

// TestGemmMatchesDot requires every matrix-matrix element to equal the
// reference dot of its (row, token) pair bit for bit, on odd row counts,
// token counts 1..9, block counts that are not multiples of the tile, and
// strides with padding.
func TestGemmMatchesDot(t *testing.T) {
	t.Logf("kernel set: %s, vnni gemm: %v", Name(), len(gemms) > 0)
	r := rand.New(rand.NewPCG(21, 22))
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q4_K, quant.Q6_K, quant.Q5_0, quant.Q5_K, quant.Q3_K, quant.Q2_K, quant.Q4_1, quant.Q5_1} {
		g := Gemm(typ)
		if g == nil {
			t.Logf("%s: no matrix-matrix kernel on this CPU", typ)
			continue
		}
		vt := quant.VecDotType(typ)
		sizes := []int{32, 96, 224, 576, 32 * 33, 2048}
		if vt == quant.Q8_K {
			sizes = []int{256, 768, 256 * 7, 2048}
		}
		for _, n := range sizes {
			for _, rows := range []int{1, 3, 4, 5, 8, 13} {
				for T := 1; T <= 9; T++ {
					rb, _ := typ.RowBytes(n)
					xb, _ := vt.RowBytes(n)
					wstride, xstride, ostride := rb+r.IntN(3)*7, xb+r.IntN(3)*5, rows+r.IntN(3)
					w := make([]byte, rows*wstride)
					for i := 0; i < rows; i++ {
						row := w[i*wstride : i*wstride+rb]
						if i%2 == 0 {
							quant.Quantize(typ, randRow(r, n, 0.02), row)
							continue
						}
						for j := range row { // raw bytes, all quant values
							row[j] = byte(r.Uint32())
						}
						bs := typ.BlockSize()
						for b := 0; b < n/bs; b++ {
							for _, o := range scaleHigh[typ] { // sane fp16 scales
								row[b*(rb/(n/bs))+o] = 0x20
							}
						}
					}
					x := make([]byte, T*xstride)
					for i := 0; i < T; i++ {
						quant.QuantizeActivation(vt, randRow(r, n, 3), x[i*xstride:i*xstride+xb])
					}
					out := make([]float32, T*ostride)
					g(n, w, wstride, rows, x, xstride, T, out, ostride)
					for tk := 0; tk < T; tk++ {
						for i := 0; i < rows; i++ {
							want := quant.DotActivation(typ, n, w[i*wstride:i*wstride+rb], x[tk*xstride:tk*xstride+xb])
							if got := out[tk*ostride+i]; got != want {
								t.Fatalf("%s n=%d rows=%d T=%d: out[t=%d][r=%d] = %v, reference %v", typ, n, rows, T, tk, i, got, want)
							}
						}
					}
				}
			}
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, rows, T = 2048, 64, 32
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q4_K, quant.Q6_K, quant.Q5_0, quant.Q5_K, quant.Q3_K, quant.Q2_K, quant.Q4_1, quant.Q5_1} {
		vt := quant.VecDotType(typ)
		rb, _ := typ.RowBytes(n)
		xb, _ := vt.RowBytes(n)
		w := make([]byte, rows*rb)
		for i := 0; i < rows; i++ {
			quant.Quantize(typ, randRow(r, n, 0.02), w[i*rb:(i+1)*rb])
		}
		x := make([]byte, T*xb)
		for i := 0; i < T; i++ {
			quant.QuantizeActivation(vt, randRow(r, n, 3), x[i*xb:(i+1)*xb])
		}
		out := make([]float32, T*rows)
		report := func(b *testing.B) {
			b.ReportMetric(float64(b.N)*2*n*rows*T/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		if g := Gemm(typ); g != nil {
			b.Run(typ.String()+"/gemm", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					g(n, w, rb, rows, x, xb, T, out, rows)
				}
				report(b)
			})
		}
		dot4, dot := Dot4(typ), Dot(typ)
		b.Run(typ.String()+"/dot", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				for t := 0; t < T; t++ {
					for j := 0; j < rows; j += 4 {
						if dot4 != nil {
							dot4(n, w[j*rb:], rb, x[t*xb:], out[t*rows+j:])
							continue
						}
						for k := j; k < j+4; k++ {
							out[t*rows+k] = dot(n, w[k*rb:], x[t*xb:])
						}
					}
				}
			}
			report(b)
		})
	}
}
