// Package tests holds kiln's end-to-end tests: parity of logits and
// perplexity with llama.cpp's reference outputs in ../shared, and the
// bad-input cases of the CLI and loaders.
package tests

import (
	"encoding/json"
	"github.com/kiln-ml/kiln/tests/testshared"
	"os"
	"testing"
)

// sharedDir finds ../shared next to the repository root, or skips the test.
func sharedDir(t testing.TB) string {
	return testshared.Dir(t)
}

// logitsRef is a reference/logits file.
type logitsRef struct {
	Model          string      `json:"model"`
	NVocab         int         `json:"n_vocab"`
	Tokens         []int32     `json:"tokens"`
	LogitsFirstPos int         `json:"logits_first_pos"`
	Logits         [][]float64 `json:"logits"`
	Argmax         []int32     `json:"argmax"`
	NextLogprob    []float64   `json:"next_logprob"`
	MeanNLL        float64     `json:"mean_nll"`
	PPL            float64     `json:"ppl"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
