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

// TestScoresKeysMatchesDot scores runs of f16, q8_0 and q4_0 keys (a
// stride longer than a key, counts that are not multiples of four) and
// checks each score bit for bit against quant.DotActivation.
func TestScoresKeysMatchesDot(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, typ := range []quant.Type{quant.F16, quant.Q8_0, quant.Q4_0} {
		for _, hd := range []int{32, 64, 128, 256} {
			kb, _ := typ.RowBytes(hd)
			qb, _ := quant.VecDotType(typ).RowBytes(hd)
			stride := kb + 6
			for _, nkeys := range []int{1, 3, 4, 9, 64} {
				keys := make([]byte, nkeys*stride)
				x := make([]float32, hd)
				for j := 0; j < nkeys; j++ {
					for i := range x {
						x[i] = float32(r.NormFloat64() * 2)
					}
					if err := quant.QuantizeActivation(typ, x, keys[j*stride:j*stride+kb]); err != nil {
						t.Fatal(err)
					}
				}
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				q := make([]byte, qb)
				if err := quant.QuantizeActivation(quant.VecDotType(typ), x, q); err != nil {
					t.Fatal(err)
				}
				out := make([]float32, nkeys)
				if !ScoresKeys(typ, hd, keys, stride, q, out) {
					t.Fatalf("%s: ScoresKeys declined", typ)
				}
				for j := range out {
					want := quant.DotActivation(typ, hd, keys[j*stride:j*stride+kb], q)
					if math.Float32bits(out[j]) != math.Float32bits(want) {
						t.Fatalf("%s hd %d key %d of %d: %v, reference %v", typ, hd, j, nkeys, out[j], want)
					}
				}
			}
		}
	}
	if ScoresKeys(quant.Q4_K, 256, make([]byte, 144), 144, make([]byte, 292), make([]float32, 1)) {
		t.Errorf("ScoresKeys claims Q4_K")
	}
}

// TestAxpyLanesF16MatchesAxpyF16 checks the one-call value loop against
// ops.AxpyF16 row by row, lane rows chosen by (j0+j)&7.
func TestAxpyLanesF16MatchesAxpyF16(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, hd := range []int{8, 64, 128} {
		for _, j0 := range []int{0, 5} {
			n, stride := 21, 2*hd+10
			v := make([]byte, n*stride)
			for i := range v {
				v[i] = byte(r.Uint32() & 0x3f) // small finite halves
			}
			p := make([]float32, n)
			for i := range p {
				p[i] = float32(r.Float64())
			}
			got, want := make([]float32, 8*hd), make([]float32, 8*hd)
			for i := range got {
				got[i] = float32(r.NormFloat64())
			}
			copy(want, got)
			if !AxpyLanesF16(got, p, v, stride, j0) {
				if useAVX2 {
					t.Fatal("AxpyLanesF16 declined")
				}
				t.Skip("no vector AxpyLanesF16 on this machine")
			}
			for j := range p {
				l := (j0 + j) & 7
				ops.AxpyF16(want[l*hd:l*hd+hd], p[j], v[j*stride:j*stride+2*hd])
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("hd %d j0 %d: lanes[%d] = %v, reference %v", hd, j0, i, got[i], want[i])
				}
			}
		}
	}
}
