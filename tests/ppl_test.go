package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/tokenizer"
)

type pplRef struct {
	NCtx    int     `json:"n_ctx"`
	NTokens int     `json:"n_tokens"`
	NChunks int     `json:"n_chunks"`
	Tokens  []int32 `json:"tokens"`
	F32KV   struct {
		FinalPPL float64 `json:"final_ppl"`
	} `json:"f32kv_nofa"`
	Exact struct {
		FinalPPL float64 `json:"final_ppl"`
	} `json:"dumplogits_f32kv"`
}

// TestPerplexityParity runs llama-perplexity's method on the shared texts and
// requires the result within 0.1% of llama.cpp's (F32 KV cache, no flash attention).
func TestPerplexityParity(t *testing.T) {
	shared := sharedDir(t)
	cases := []struct{ model, text, ref string }{
		{"stories260K-f32.gguf", "ppl_1k.txt", "stories260K-f32.ppl_1k.json"},
		{"stories260K-f32.gguf", "wikitext2_test_20k.txt", "stories260K-f32.wikitext2_test_20k.json"},
		{"stories260K-q8_0.gguf", "ppl_1k.txt", "stories260K-q8_0.ppl_1k.json"},
		{"stories260K-q8_0.gguf", "wikitext2_test_20k.txt", "stories260K-q8_0.wikitext2_test_20k.json"},
		{"gocoder-11m-q8_0.gguf", "nethttp-60k.txt", "gocoder-11m-q8_0.nethttp-60k.json"},
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.ref, ".json"), func(t *testing.T) {
			if testing.Short() && strings.HasPrefix(c.model, "gocoder") {
				t.Skip("gocoder perplexity takes about a minute; skipped with -short")
			}
			var ref pplRef
			readJSON(t, filepath.Join(shared, "reference", "ppl", c.ref), &ref)
			m, err := kiln.Load(filepath.Join(shared, "models", c.model), kiln.Options{Context: ref.NCtx, Threads: 2, CacheTypeK: "f32", CacheTypeV: "f32"}) // as the f32kv references
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			text, err := os.ReadFile(filepath.Join(shared, "data", c.text))
			if err != nil {
				t.Fatal(err)
			}
			ids, err := m.Tok.Encode(strings.TrimSuffix(string(text), "\n"), tokenizer.EncodeOptions{AddBOS: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != ref.NTokens {
				t.Fatalf("tokenized to %d tokens, llama.cpp has %d", len(ids), ref.NTokens)
			}
			r, err := m.Perplexity(context.Background(), ids, ref.NCtx, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := ref.Exact.FinalPPL
			if want == 0 {
				want = ref.F32KV.FinalPPL
			}
			rel := (r.PPL - want) / want
			t.Logf("%s: ppl %.4f, llama.cpp %.4f (%+.4f%%), %d chunks", c.ref, r.PPL, want, 100*rel, r.Chunks)
			if r.Chunks != ref.NChunks {
				t.Errorf("%d chunks, want %d", r.Chunks, ref.NChunks)
			}
			if rel > 0.001 || rel < -0.001 {
				t.Errorf("ppl %.4f differs from llama.cpp's %.4f by %.3f%% (bound 0.1%%)", r.PPL, want, 100*rel)
			}
		})
	}
}
