package kiln_test

import (
	"path/filepath"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/tests/testshared"
)

// BenchmarkDecodeKV measures decode on gocoder-11m at a 1,000-token depth
// for each key cache format (values f16), one thread: the goal is
// turbo_kv_4b at ≥0.95× the f16 cache's tok/s.
//
//	go test -run XXX -bench DecodeKV -benchtime 64x -count 5 .
func BenchmarkDecodeKV(b *testing.B) {
	for _, k := range []string{"f16", "turbo_kv_4b", "turbo_kv_3b", "turbo_kv_5b", "q8_0", "q4_0"} {
		b.Run(k, func(b *testing.B) {
			m, err := kiln.Load(filepath.Join(testshared.Dir(b), "models", "gocoder-11m-q8_0.gguf"), kiln.Options{Threads: 1, Context: 1024, CacheTypeK: k})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			s, err := m.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			const depth = 1000
			prefix := make([]int32, depth)
			for i := range prefix {
				prefix[i] = int32((i*7919 + 13) % m.Hyper().NVocab)
			}
			tok := []int32{1}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if s.Pos() == 0 || s.Pos() >= m.Ctx {
					b.StopTimer()
					s.Reset()
					if _, err := s.Eval(prefix, false); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				l, err := s.Eval(tok, false)
				if err != nil {
					b.Fatal(err)
				}
				tok[0] = kiln.Argmax(l)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
