package kvquant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCodebooksAreLloydMax recomputes the Lloyd-Max levels and checks the
// generated constants, and that every level is the centroid of its cell.
func TestCodebooksAreLloydMax(t *testing.T) {
	for bits := 3; bits <= 5; bits++ {
		want := LloydMax(1 << bits)
		got := Codebook(bits)
		if len(got) != len(want) {
			t.Fatalf("%d bits: %d levels, want %d", bits, len(got), len(want))
		}
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-6 {
				t.Errorf("%d bits: level %d = %v, Lloyd-Max gives %v (rerun go generate)", bits, i, got[i], want[i])
			}
		}
	}
	// Known values (Max 1960): 3 bits ±0.2451, ±0.7560, ±1.3440, ±2.1520.
	for i, v := range []float64{0.2451, 0.7560, 1.3440, 2.1520} {
		if c := Codebook(3)[4+i]; math.Abs(float64(c)-v) > 1e-4 {
			t.Errorf("3-bit level %d = %v, want %v", 4+i, c, v)
		}
	}
}

// TestTurboRoundTrip checks the reconstruction error of each turbo format on
// Gaussian vectors against the Lloyd-Max distortion of N(0,1) (0.0345,
// 0.0095, 0.0025 for 3, 4, 5 bits), and that TurboDot equals the dot of
// the rotated query with the unpacked key.
func TestTurboRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	want := map[int]float64{3: 0.0345, 4: 0.0095, 5: 0.0025}
	for _, hd := range []int{32, 64, 128, 256} {
		for _, typ := range []Type{Turbo3, Turbo4, Turbo5} {
			signs := Signs(1, 2, hd)
			x := make([]float32, hd)
			y := make([]float32, hd)
			q := make([]float32, hd)
			qr := make([]float32, hd)
			tmp := make([]float32, hd)
			buf := make([]byte, typ.HeadBytes(hd))
			var num, den float64
			for n := 0; n < 200; n++ {
				for i := range x {
					x[i] = float32(r.NormFloat64()) * 3
					q[i] = float32(r.NormFloat64())
				}
				x[n%hd] += 20 // an outlier channel: the rotation spreads it
				Pack(typ, buf, x, signs, tmp)
				Unpack(typ, buf, y, signs)
				for i := range x {
					num += float64((x[i] - y[i]) * (x[i] - y[i]))
					den += float64(x[i] * x[i])
				}
				RotateQuery(qr, q, signs, 1)
				var dot float64
				for i := range q {
					dot += float64(q[i]) * float64(y[i])
				}
				if got := TurboDot(typ.Bits(), buf, qr); math.Abs(float64(got)-dot) > 1e-4*(1+math.Abs(dot)) {
					t.Fatalf("%s hd %d: TurboDot %v, dot with the unpacked key %v", typ, hd, got, dot)
				}
			}
			rel := num / den
			if w := want[typ.Bits()]; rel > w*1.25 || rel < w*0.5 {
				t.Errorf("%s hd %d: relative MSE %.5f, Lloyd-Max distortion %.4f", typ, hd, rel, w)
			}
			t.Logf("%s hd %d: relative MSE %.5f (%d bytes per head)", typ, hd, rel, typ.HeadBytes(hd))
		}
	}
}

// TestCodebooksAreOdd: the sign-and-magnitude codes rely on level k being
// minus level 2^b-1-k exactly.
func TestCodebooksAreOdd(t *testing.T) {
	for bits := 3; bits <= 5; bits++ {
		cb := Codebook(bits)
		for k := range cb {
			if cb[k] != -cb[len(cb)-1-k] {
				t.Errorf("%d bits: level %d = %v, level %d = %v", bits, k, cb[k], len(cb)-1-k, cb[len(cb)-1-k])
			}
		}
		for k := 0; k < len(cb); k++ {
			if got := fromSignMag(bits, signMag(bits, uint8(k))); int(got) != k {
				t.Errorf("%d bits: level %d round-trips to %d", bits, k, got)
			}
		}
	}
}
