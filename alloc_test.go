package kiln_test

import (
	"path/filepath"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/tests/testshared"
)

// TestDecodeAllocatesNothing checks the promise of zero heap allocations
// per decoded token at the library level (Session.Eval and a sampling chain), once
// the decode program is built.
func TestDecodeAllocatesNothing(t *testing.T) {
	for _, kv := range [][2]string{{"", ""}, {"turbo_kv_4b", "q4_0"}, {"turbo_kv_3b", "q8_0"}, {"q8_0", "f32"}} {
		name := kv[0] + "-" + kv[1]
		if kv[0] == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) { decodeAllocs(t, kv[0], kv[1]) })
	}
}

func decodeAllocs(t *testing.T, k, v string) {
	m, err := kiln.Load(filepath.Join(testshared.Dir(t), "models", "gocoder-11m-q8_0.gguf"), kiln.Options{Threads: 2, Context: 512, CacheTypeK: k, CacheTypeV: v})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	tok := []int32{0}
	smp := kiln.NewSampler(kiln.SamplerOptions{Temp: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, RepeatLastN: 64, Seed: 1})
	step := func() {
		logits, err := s.Eval(tok, false)
		if err != nil {
			t.Fatal(err)
		}
		tok[0] = smp.Sample(logits)
		smp.Accept(tok[0])
	}
	step()
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("a decode step allocates %v times", n)
	}
}
