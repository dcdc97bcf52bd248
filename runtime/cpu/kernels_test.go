package cpu

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/runtime/backendtest"
)

// knownInexact lists the kernels, by case name up to the first "/", whose
// float operations are known to differ from the reference's; each is held
// to maxNMSE only. Every other kernel must be bit-identical.
var knownInexact = map[string]string{}

// TestKernels runs every case of the shared kernel table (backendtest) through
// the CPU runtime and graph.Evaluate, at each of the case's positions (so
// caches hold earlier rows), with 1 and 3 threads. Outputs must be
// bit-identical, except for the kernels listed in knownInexact, which must
// be within maxNMSE.
func TestKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	rts := []*Runtime{New(1), New(3)}
	for _, rt := range rts {
		defer rt.Close()
	}
	for _, c := range backendtest.Cases(r) {
		b, err := c.Lower(r, lower.Options{Disable: optionalPasses(), Check: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range rts {
			e, err := rt.Load(b.Program, b.Weights)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			err = b.Compare(e, func(at int, got, want []float32) {
				e2 := backendtest.NMSE(got, want)
				if e2 > maxNMSE || math.IsNaN(e2) {
					t.Errorf("%s, threads %d, pos %d: NMSE %g > %g", c.Name, rt.Threads(), at, e2, maxNMSE)
					return
				}
				n := backendtest.BitsDiffer(got, want)
				why, known := knownInexact[strings.SplitN(c.Name, "/", 2)[0]]
				switch {
				case n > 0 && !known:
					t.Errorf("%s, threads %d, pos %d: %d of %d values differ from the reference in the last bits (NMSE %.2g)", c.Name, rt.Threads(), at, n, len(got), e2)
				case n > 0 && rt.Threads() == 1 && at == 0:
					t.Logf("%s: %d of %d values differ in the last bits (NMSE %.2g): %s", c.Name, n, len(got), e2, why)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// BenchmarkKernels times one step of a few cases of the shared table on the
// CPU runtime, with every pass on as a model would run.
func BenchmarkKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	rt := New(0)
	defer rt.Close()
	for _, c := range backendtest.Cases(r) {
		if !strings.HasPrefix(c.Name, "matmul_q") && !strings.HasPrefix(c.Name, "attention/") {
			continue
		}
		built, err := c.Lower(r, lower.Options{})
		if err != nil {
			b.Fatal(err)
		}
		e, err := rt.Load(built.Program, built.Weights)
		if err != nil {
			b.Fatal(err)
		}
		st := e.NewState()
		b.Run(c.Name, func(b *testing.B) {
			for b.Loop() {
				if err := built.Step(e, st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
