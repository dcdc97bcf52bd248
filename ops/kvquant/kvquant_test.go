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
// 0.0095, 0.0025 for 3, 4, 5 bits): the scale search must code below it
// (it gains most on short vectors: 0.0266, 0.0067, 0.0016 at head size 64,
// 0.0323, 0.0085, 0.0021 at 256), and TurboDot must equal the dot of the
// rotated query with the unpacked key.
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
			if w := want[typ.Bits()]; rel > w || rel < w*0.5 {
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

// TestTurboScaleSearch: on Gaussian, outlier and heavy-tailed vectors, no
// packed vector reconstructs worse than coding each rotated coordinate with
// its nearest level at unit scale (a trial of the search), and at head size
// 64 the search cuts the mean error by at least a tenth (3 bits 11%, 4 and
// 5 bits 22% and 25%).
func TestTurboScaleSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const hd = 64
	for _, typ := range []Type{Turbo3, Turbo4, Turbo5} {
		bits := typ.Bits()
		cb := Codebook(bits)
		signs := Signs(3, 1, hd)
		x, y, z, tmp := make([]float32, hd), make([]float32, hd), make([]float32, hd), make([]float32, hd)
		buf := make([]byte, typ.HeadBytes(hd))
		var sumSearch, sumRound float64
		for n := 0; n < 3000; n++ {
			for i := range x {
				switch n % 3 {
				case 0:
					x[i] = float32(r.NormFloat64())
				case 1:
					x[i] = float32(r.NormFloat64()) * 0.1
				case 2:
					x[i] = float32(r.NormFloat64() * r.ExpFloat64())
				}
			}
			if n%3 == 1 {
				x[r.IntN(hd)] += 3
				x[r.IntN(hd)] -= 2
			}
			Pack(typ, buf, x, signs, tmp)
			Unpack(typ, buf, y, signs)
			var e float64
			for i := range x {
				e += float64(x[i]-y[i]) * float64(x[i]-y[i])
			}
			// Round each coordinate of z = H·(σ⊙x)/rms(x) to its nearest level, least-squares gain.
			var ss, num, den float64
			for i, v := range x {
				z[i] = v * signs[i]
				ss += float64(v) * float64(v)
			}
			Hadamard(z)
			for _, v := range z {
				zn := float64(v) / math.Sqrt(ss)
				best := 0
				for k := range cb {
					if math.Abs(zn-float64(cb[k])) < math.Abs(zn-float64(cb[best])) {
						best = k
					}
				}
				num += zn * float64(cb[best])
				den += float64(cb[best]) * float64(cb[best])
			}
			// ‖x − x̂‖² = ‖z − γc·rms‖²/d over the rotated coordinates.
			eRound := ss * (1 - num*num/(den*hd)) // ‖zn‖² = d; x's error is z's over d
			if e > eRound*1.002+1e-9*ss {
				t.Fatalf("%s vector %d: error %.6g, nearest levels at unit scale give %.6g", typ, n, e, eRound)
			}
			sumSearch += e / ss
			sumRound += eRound / ss
		}
		t.Logf("%s: mean relative error %.5f, nearest levels %.5f", typ, sumSearch/3000, sumRound/3000)
		if sumSearch > sumRound*0.9 {
			t.Errorf("%s: the scale search's error %.5f is not a tenth below rounding's %.5f", typ, sumSearch/3000, sumRound/3000)
		}
	}
}

// TestMagTableNearest checks the lookup of the nearest positive level
// against a scan of the codebook, across every boundary.
func TestMagTableNearest(t *testing.T) {
	for bits := 3; bits <= 5; bits++ {
		cb := Codebook(bits)
		pos := cb[len(cb)/2:]
		m := &magTables[bits]
		check := func(u float32) {
			want := 0
			for k := range pos {
				if u >= (pos[max(k, 1)-1]+pos[k])/2 && k > 0 {
					want = k
				}
			}
			if got := m.nearest(u); got != want {
				t.Fatalf("%d bits: nearest(%v) = %d, want %d", bits, u, got, want)
			}
		}
		for u := float32(0); u < 6; u += 1.0 / 1024 {
			check(u)
		}
		for k := 1; k < len(pos); k++ {
			b := (pos[k-1] + pos[k]) / 2
			check(b)
			check(math.Nextafter32(b, 0))
			check(math.Nextafter32(b, 10))
		}
		check(1e6)
	}
}

// TestTurboZeroAndNaN: a zero vector scores 0; a vector with a NaN or an
// infinity scores NaN, as it would in an f16 cache.
func TestTurboZeroAndNaN(t *testing.T) {
	const hd = 32
	q, qr, tmp := make([]float32, hd), make([]float32, hd), make([]float32, hd)
	for i := range q {
		q[i] = float32(i%5) - 2
	}
	signs := Signs(0, 0, hd)
	RotateQuery(qr, q, signs, 1)
	for _, typ := range []Type{Turbo3, Turbo4, Turbo5} {
		buf := make([]byte, typ.HeadBytes(hd))
		x := make([]float32, hd)
		Pack(typ, buf, x, signs, tmp)
		if s := TurboDot(typ.Bits(), buf, qr); s != 0 {
			t.Errorf("%s: zero key scores %v", typ, s)
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
			x[3] = bad
			Pack(typ, buf, x, signs, tmp)
			if s := TurboDot(typ.Bits(), buf, qr); !math.IsNaN(float64(s)) {
				t.Errorf("%s: key with %v scores %v", typ, bad, s)
			}
		}
	}
}

// BenchmarkPackTurbo measures the encoder (rotation and scale search) on
// one head vector of 64: a cache write packs n_layer·n_kv_head of them per
// token.
func BenchmarkPackTurbo(b *testing.B) {
	const hd = 64
	r := rand.New(rand.NewPCG(1, 2))
	x, tmp := make([]float32, hd), make([]float32, hd)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	signs := Signs(0, 0, hd)
	for _, typ := range []Type{Turbo3, Turbo4, Turbo5} {
		b.Run(typ.String(), func(b *testing.B) {
			buf := make([]byte, typ.HeadBytes(hd))
			for b.Loop() {
				Pack(typ, buf, x, signs, tmp)
			}
		})
	}
}
