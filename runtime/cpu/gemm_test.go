package cpu

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/runtime/backendtest"
)

// TestKernelsPrefill runs the matmul cases of the shared kernel table with
// every pass on, so the activations arrive quantized and batches of two or
// more tokens go through the matrix-matrix tiles (where the CPU has them),
// with 1 and 3 threads: every output must be bit-identical to graph.Evaluate.
func TestKernelsPrefill(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	rts := []*Runtime{New(1), New(3)}
	for _, rt := range rts {
		defer rt.Close()
	}
	ran := 0
	for _, c := range backendtest.Cases(r) {
		if !strings.HasPrefix(c.Name, "matmul") || c.T < 2 {
			continue
		}
		b, err := c.Lower(r, lower.Options{Check: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range rts {
			e, err := rt.Load(b.Program, b.Weights)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			err = b.Compare(e, func(at int, got, want []float32) {
				if n := backendtest.BitsDiffer(got, want); n > 0 {
					t.Errorf("%s, threads %d, pos %d: %d of %d values differ from the reference (NMSE %.2g)", c.Name, rt.Threads(), at, n, len(got), backendtest.NMSE(got, want))
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		ran++
	}
	if ran == 0 {
		t.Fatal("no matmul case of two or more tokens in the table")
	}
	t.Logf("%d matmul cases", ran)
}
