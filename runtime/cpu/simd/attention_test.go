package simd

import (
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops"
)

// TestAttentionLoopsMatchReference requires the one-call score and value
// loops to equal the per-key plain-Go loops bit for bit.
func TestAttentionLoopsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, hd := range []int{8, 32, 40, 64, 128} {
		for _, n := range []int{1, 2, 7, 8, 9, 33} {
			stride := hd * (1 + r.IntN(3))
			q := randRow(r, hd, 1)
			k := randRow(r, (n-1)*stride+hd, 1)
			scale := float32(0.125)
			got, want := make([]float32, n), make([]float32, n)
			Scores(got, q, k, stride, scale)
			for j := range want {
				want[j] = ops.DotF32(q, k[j*stride:j*stride+hd]) * scale
			}
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("scores hd=%d n=%d: [%d] %v, reference %v", hd, n, j, got[j], want[j])
				}
			}
			j0 := r.IntN(20)
			p := randRow(r, n, 0.3)
			lanes, ref := randRow(r, 8*hd, 1), make([]float32, 8*hd)
			copy(ref, lanes)
			AxpyLanes(lanes, p, k, stride, j0)
			for j := range p {
				l := (j0 + j) & 7
				ops.AxpyFMA(ref[l*hd:l*hd+hd], p[j], k[j*stride:j*stride+hd])
			}
			for i := range ref {
				if lanes[i] != ref[i] {
					t.Fatalf("axpy lanes hd=%d n=%d j0=%d: [%d] %v, reference %v", hd, n, j0, i, lanes[i], ref[i])
				}
			}
		}
	}
}
