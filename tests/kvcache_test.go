package tests

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/tokenizer"
)

// TestKVCachePerplexity holds each quantized KV cache to a bound on
// perplexity against kiln's own f16 cache, on gocoder-11m Q8_0 over all of
// nethttp-60k.txt with llama-perplexity's method at -c 512 (48 chunks).
// The bounds: q8_0 keys +0.05%, turbo_kv_5b +0.2%, turbo_kv_4b
// +0.5%, turbo_kv_3b +2%, q4_0 keys and values within 10% of llama.cpp's
// +1.33% (5.0233 against 4.9574 with an F32 cache). Measured (f16 4.9580):
// q8_0 −0.01%, turbo_kv_5b −0.02%, turbo_kv_4b +0.19%, turbo_kv_3b
// +1.73%, q4_0/q4_0 +1.44%.
//
// A turbo figure is one draw: it depends on the rotation signs as much as
// on the coding. Over six sign seeds turbo_kv_4b gave +0.18% to +0.50%
// (mean +0.32%), turbo_kv_3b +1.19% to +1.80% over four; with plain
// nearest-level rounding instead of the encoder's scale search they were
// +0.20% to +0.76% (mean +0.44%; +0.76% with these signs) and +1.47% to
// +2.13%. The mean KL divergence from the f16 cache's next-token
// distributions, which has no such sign-dependent first-order part, shows
// the search's gain directly: 3, 4, 5 bits 0.0276, 0.0073, 0.0022 with
// rounding, 0.0251, 0.0062, 0.0017 with the search (q8_0 keys 0.0003).
//
// A prefix of the text does not do: on the first 16 chunks the changes are
// +1.32% for turbo_kv_4b (with rounding) and +0.99% for q4_0/q4_0, where
// the whole text gives +0.76% and +1.44%; quantization noise needs every
// chunk to average out. The runs share the two cores, one thread each.
func TestKVCachePerplexity(t *testing.T) {
	if testing.Short() {
		t.Skip("six gocoder perplexity runs over 24,900 tokens; skipped with -short")
	}
	shared := sharedDir(t)
	text, err := os.ReadFile(filepath.Join(shared, "data", "nethttp-60k.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		k, v     string
		min, max float64 // relative change against f16
	}{
		{"f16", "f16", 0, 0},
		{"q8_0", "f16", -1, 0.0005},
		{"turbo_kv_5b", "f16", -1, 0.002},
		{"turbo_kv_4b", "f16", -1, 0.005},
		{"turbo_kv_3b", "f16", -1, 0.02},
		{"q4_0", "q4_0", 0.0133 * 0.9, 0.0133 * 1.1},
	}
	ppl := make([]float64, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ppl[i], errs[i] = kvPerplexity(filepath.Join(shared, "models", "gocoder-11m-q8_0.gguf"), string(text), c.k, c.v)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("K %s, V %s: %v", cases[i].k, cases[i].v, err)
		}
	}
	base := ppl[0]
	t.Logf("f16/f16: ppl %.4f", base)
	for i, c := range cases[1:] {
		p := ppl[i+1]
		rel := p/base - 1
		t.Logf("%s/%s: ppl %.4f (%+.3f%%)", c.k, c.v, p, 100*rel)
		if !(rel >= c.min && rel <= c.max) || math.IsNaN(p) {
			t.Errorf("K %s, V %s: ppl %.4f is %+.3f%% against f16's %.4f; bound [%+.2f%%, %+.2f%%]", c.k, c.v, p, 100*rel, base, 100*c.min, 100*c.max)
		}
	}
}

func kvPerplexity(model, text, k, v string) (float64, error) {
	m, err := kiln.Load(model, kiln.Options{Context: 512, Threads: 1, CacheTypeK: k, CacheTypeV: v})
	if err != nil {
		return 0, err
	}
	defer m.Close()
	ids, err := m.Tok.Encode(strings.TrimSuffix(text, "\n"), tokenizer.EncodeOptions{AddBOS: true})
	if err != nil {
		return 0, err
	}
	r, err := m.Perplexity(context.Background(), ids, 512, nil)
	if err != nil {
		return 0, err
	}
	return r.PPL, nil
}

// TestKVCacheContextFull fills a quantized cache to its length: the next
// token is an error, and the failed call leaves the cache as it was.
func TestKVCacheContextFull(t *testing.T) {
	shared := sharedDir(t)
	path := filepath.Join(shared, "models", "gocoder-11m-q8_0.gguf")
	m, err := kiln.Load(path, kiln.Options{Context: 16, Threads: 2, CacheTypeK: "turbo_kv_4b", CacheTypeV: "q4_0"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ids := make([]int32, 17)
	for i := range ids {
		ids[i] = int32(7 * i)
	}
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Eval(ids[:15], false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Eval(ids[15:17], false); err == nil || !strings.Contains(err.Error(), "exceed the context length 16") {
		t.Fatalf("two tokens at position 15 of 16: %v", err)
	}
	if s.Pos() != 15 {
		t.Fatalf("position %d after the failed call, want 15", s.Pos())
	}
	got, err := s.Eval(ids[15:16], false)
	if err != nil {
		t.Fatal(err)
	}
	got = append([]float32(nil), got...)
	fresh, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Eval(ids[:15], false); err != nil {
		t.Fatal(err)
	}
	want, err := fresh.Eval(ids[15:16], false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logit %d after the failed call: %v, a fresh session gives %v", i, got[i], want[i])
		}
	}
	if _, err := s.Eval(ids[16:17], false); err == nil || !strings.Contains(err.Error(), "position 16") {
		t.Fatalf("token 17 of a 16-token cache: %v", err)
	}
}

// TestKVCacheTypeErrors: an unknown or unfitting cache format fails Load with an error naming it.
func TestKVCacheTypeErrors(t *testing.T) {
	shared := sharedDir(t)
	cases := []struct {
		model, k, v string
		want        []string
	}{
		{"gocoder-11m-q8_0.gguf", "q9_9", "", []string{"key cache", `unknown KV cache type "q9_9"`, "turbo_kv_4b"}},
		{"gocoder-11m-q8_0.gguf", "", "turbo_kv_4b", []string{"value cache", "turbo_kv_4b is for keys only"}},
		{"stories260K-f32.gguf", "turbo_kv_3b", "", []string{"turbo_kv_3b needs a power-of-two head size of at least 32, have 8"}},
		{"stories260K-f32.gguf", "f16", "q8_0", []string{"value cache", "q8_0 needs a head size that is a multiple of 32, have 8"}},
	}
	for _, c := range cases {
		_, err := kiln.Load(filepath.Join(shared, "models", c.model), kiln.Options{Threads: 1, CacheTypeK: c.k, CacheTypeV: c.v})
		if err == nil {
			t.Errorf("%s K %q V %q: loaded", c.model, c.k, c.v)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s K %q V %q: error %q does not mention %q", c.model, c.k, c.v, err, w)
			}
		}
	}
}
