package simd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// TestTurboDotMatchesReference packs random keys in every turbo format and
// checks the vector score bit for bit against kvquant.TurboDot.
func TestTurboDotMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, hd := range []int{32, 64, 128, 256} {
		for _, typ := range []kvquant.Type{kvquant.Turbo3, kvquant.Turbo4, kvquant.Turbo5} {
			signs := kvquant.Signs(3, 1, hd)
			x, q, qr, tmp := make([]float32, hd), make([]float32, hd), make([]float32, hd), make([]float32, hd)
			buf := make([]byte, typ.HeadBytes(hd))
			var keys []byte
			for n := 0; n < 100; n++ {
				for i := range x {
					x[i] = float32(r.NormFloat64() * 4)
					q[i] = float32(r.NormFloat64())
				}
				kvquant.Pack(typ, buf, x, signs, tmp)
				kvquant.RotateQuery(qr, q, signs, 0.125)
				got, want := TurboDot(typ.Bits(), buf, qr), kvquant.TurboDot(typ.Bits(), buf, qr)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s hd %d: %v, reference %v", typ, hd, got, want)
				}
				keys = append(keys, buf...)
				keys = append(keys, 0, 0, 0) // a stride longer than the key
			}
			stride := len(buf) + 3
			out, ref := make([]float32, 100), make([]float32, 100)
			TurboScores(typ.Bits(), keys, stride, qr, out)
			ops.TurboScores(typ.Bits(), keys, stride, qr, ref)
			for j := range out {
				if math.Float32bits(out[j]) != math.Float32bits(ref[j]) {
					t.Fatalf("%s hd %d: TurboScores key %d = %v, reference %v", typ, hd, j, out[j], ref[j])
				}
			}
		}
	}
}

func TestAxpyF16MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 7, 8, 64, 100, 128} {
		v := make([]byte, 2*n)
		for i := 0; i < n; i++ {
			h := quant.FP32ToFP16(float32(r.NormFloat64()))
			v[2*i], v[2*i+1] = byte(h), byte(h>>8)
		}
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i] = float32(r.NormFloat64())
			b[i] = a[i]
		}
		p := float32(r.Float64())
		AxpyF16(a, p, v)
		ops.AxpyF16(b, p, v)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("n %d: element %d = %v, reference %v", n, i, a[i], b[i])
			}
		}
	}
}

func BenchmarkTurboDot4(b *testing.B) {
	hd := 64
	typ := kvquant.Turbo4
	signs := kvquant.Signs(0, 0, hd)
	x, qr, tmp := make([]float32, hd), make([]float32, hd), make([]float32, hd)
	for i := range x {
		x[i], qr[i] = float32(i%7)-3, float32(i%5)-2
	}
	buf := make([]byte, typ.HeadBytes(hd))
	kvquant.Pack(typ, buf, x, signs, tmp)
	var s float32
	for i := 0; i < b.N; i++ {
		s += TurboDot(4, buf, qr)
	}
	_ = s
}

func BenchmarkDotF16Key(b *testing.B) {
	hd := 64
	k, q := make([]byte, 2*hd), make([]byte, 2*hd)
	var s float32
	for i := 0; i < b.N; i++ {
		s += DotF16(hd, k, q)
	}
	_ = s
}

func BenchmarkTurboScores4(b *testing.B) {
	hd, n := 64, 1000
	typ := kvquant.Turbo4
	keys := make([]byte, n*typ.HeadBytes(hd)*2)
	qr, out := make([]float32, hd), make([]float32, n)
	for i := 0; i < b.N; i++ {
		TurboScores(4, keys, 2*typ.HeadBytes(hd), qr, out)
	}
}

func BenchmarkDotF16Keys(b *testing.B) {
	hd, n := 64, 1000
	keys, q, out := make([]byte, n*2*hd*2), make([]byte, 2*hd), make([]float32, n)
	for i := 0; i < b.N; i++ {
		for j := range out {
			out[j] = DotF16(hd, keys[j*4*hd:], q)
		}
	}
}
