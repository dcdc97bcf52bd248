package gpu

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/runtime/backendtest"
)

// TestRopeFoldsIntoTurboWrite checks that a one-row rope feeding a turbo
// key write launches nothing of its own (the write rotates the row), and
// that with several rows, where the center needs every rotated row first,
// the rope keeps its launch.
func TestRopeFoldsIntoTurboWrite(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 0
	for _, c := range backendtest.Cases(r) {
		if !strings.HasPrefix(c.Name, "attention_kv_rope/k=turbo") {
			continue
		}
		n++
		b, err := c.Lower(r, lower.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pl, err := Build(b.Program)
		if err != nil {
			t.Fatal(err)
		}
		ropes, folded := 0, 0
		for _, l := range pl.Launches {
			if l.Kernel == "rope" {
				ropes++
			}
			if k, _ := Lookup(l.Kernel); l.Kernel == "kv_write_turbo" && l.Args[paramIndex(k, "has_rope")].I == 1 {
				folded++
			}
		}
		if want := map[bool]int{true: 1, false: 0}[c.T == 1]; folded != want || ropes != 1-want {
			t.Errorf("%s: %d rope launches, %d turbo writes that rotate, want %d folded", c.Name, ropes, folded, want)
		}
	}
	if n < 2 {
		t.Errorf("%d turbo rope cases in the table, want one of one row and one of several", n)
	}
}

func paramIndex(k *Kernel, name string) int {
	for i, p := range k.Params {
		if p.Name == name {
			return i
		}
	}
	return -1
}
