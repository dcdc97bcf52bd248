package llama

import (
	"testing"

	"github.com/kiln-ml/kiln/models/archtest"
)

// TestMistralWindow checks that a llama file with a sliding window (Mistral)
// windows every layer's attention.
func TestMistralWindow(t *testing.T) {
	f := archtest.Rewrite(t, archtest.Open(t, "llama3"), archtest.Edit{Set: map[string]any{"llama.attention.sliding_window": uint32(4)}})
	m, g := archtest.Build(t, f)
	if c := m.(*Config); c.Window != 4 || c.RopeMode != 0 {
		t.Errorf("config %+v: want window 4, NORM rope", c)
	}
	for _, name := range []string{"blk.0.kqv_out", "blk.1.kqv_out"} {
		if n := g.Lookup(name); n == nil || n.Attrs.Window != 4 {
			t.Errorf("%s: want window 4", name)
		}
	}
}

func TestSWAPattern(t *testing.T) {
	got := SWAPattern(7, 3)
	want := []bool{true, true, false, true, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("SWAPattern(7, 3) = %v, want %v", got, want)
		}
	}
}
