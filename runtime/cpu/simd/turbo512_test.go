package simd

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// TestTurboScores4Kernels runs both amd64 4-bit score kernels (the AVX2
// one and the AVX-512 table lookup) where the CPU has them, against
// ops.TurboScores bit for bit: TurboScores picks only one of them.
func TestTurboScores4Kernels(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 here")
	}
	r := rand.New(rand.NewPCG(15, 16))
	for _, hd := range []int{16, 64, 128, 256} {
		signs := kvquant.Signs(2, 3, hd)
		x, q, qr, tmp := make([]float32, hd), make([]float32, hd), make([]float32, hd), make([]float32, hd)
		hb := kvquant.Turbo4.HeadBytes(hd)
		stride := hb + 5
		const nkeys = 37
		keys := make([]byte, nkeys*stride)
		for j := 0; j < nkeys; j++ {
			for i := range x {
				x[i] = float32(r.NormFloat64() * 3)
			}
			kvquant.Pack(kvquant.Turbo4, keys[j*stride:j*stride+hb], x, signs, tmp)
		}
		for i := range q {
			q[i] = float32(r.NormFloat64())
		}
		kvquant.RotateQuery(qr, q, signs, 0.125)
		want := make([]float32, nkeys)
		ops.TurboScores(4, keys, stride, qr, want)
		kernels := map[string]func(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32){"avx2": turboScores4AVX2}
		if useTurbo512 {
			kernels["avx512"] = turboScores4AVX512
			kernels["avx512x8"] = func(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32) {
				turboScores4x8AVX512(nkeys/8, n16, keys, stride, q, cb, out)
			}
		}
		kernels["TurboScores"] = func(nkeys, n16 int, _ *byte, stride int, q, _, out *float32) {
			TurboScores(4, keys, stride, qr, unsafe.Slice(out, nkeys))
		}
		for name, k := range kernels {
			got := make([]float32, nkeys)
			k(nkeys, hd/16, &keys[0], stride, &qr[0], &turbo4Codebook[8], &got[0])
			n := nkeys
			if name == "avx512x8" {
				n = nkeys / 8 * 8
			}
			for j := range got[:n] {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%s hd %d key %d: %v, reference %v", name, hd, j, got[j], want[j])
				}
			}
		}
	}
}

func BenchmarkTurboScores4Kernels(b *testing.B) {
	const hd, nkeys = 64, 1024
	signs := kvquant.Signs(0, 0, hd)
	r := rand.New(rand.NewPCG(1, 2))
	x, qr, tmp := make([]float32, hd), make([]float32, hd), make([]float32, hd)
	hb := kvquant.Turbo4.HeadBytes(hd)
	keys := make([]byte, nkeys*hb)
	for j := 0; j < nkeys; j++ {
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		kvquant.Pack(kvquant.Turbo4, keys[j*hb:(j+1)*hb], x, signs, tmp)
	}
	for i := range qr {
		qr[i] = float32(r.NormFloat64())
	}
	out := make([]float32, nkeys)
	b.Run("avx2", func(b *testing.B) {
		for b.Loop() {
			turboScores4AVX2(nkeys, hd/16, &keys[0], hb, &qr[0], &turbo4Codebook[8], &out[0])
		}
	})
	if useTurbo512 {
		b.Run("avx512", func(b *testing.B) {
			for b.Loop() {
				turboScores4AVX512(nkeys, hd/16, &keys[0], hb, &qr[0], &turbo4Codebook[8], &out[0])
			}
		})
	}
	if useTurbo512 {
		b.Run("avx512x8", func(b *testing.B) {
			for b.Loop() {
				turboScores4x8AVX512(nkeys/8, hd/16, &keys[0], hb, &qr[0], &turbo4Codebook[8], &out[0])
			}
		})
	}
	b.Run("f16", func(b *testing.B) {
		kb := make([]byte, nkeys*2*hd)
		q := make([]byte, 2*hd)
		for b.Loop() {
			ScoresKeys(quant.F16, hd, kb, 2*hd, q, out)
		}
	})
}
