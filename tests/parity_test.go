package tests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
)

// nmseBound is the bound per weight format of the file.
func nmseBound(model string) float64 {
	switch {
	case strings.Contains(model, "f32"):
		return 1e-6
	case strings.Contains(model, "f16"), strings.Contains(model, "bf16"), strings.Contains(model, "q8_0"):
		return 1e-4
	case strings.Contains(model, "q2_k"), strings.Contains(model, "q3_k"):
		return 1e-2
	default:
		return 1e-3
	}
}

type parityCase struct {
	model string // path under shared/models
	ref   string // file under shared/reference/logits
}

func llamaParityCases() []parityCase {
	var cs []parityCase
	for _, q := range []string{"f32", "q8_0", "q4_0"} {
		for _, r := range []string{"seq16", "rand200"} {
			cs = append(cs, parityCase{"stories260K-" + q + ".gguf", "stories260K-" + q + "." + r + ".json"})
		}
	}
	cs = append(cs, parityCase{"gocoder-11m-q8_0.gguf", "gocoder-11m-q8_0.code200.json"})
	for _, m := range []string{"llama3", "smollm2"} {
		for _, r := range []string{"seq16", "rand200"} {
			cs = append(cs, parityCase{"synth/" + m + "-q8_0.gguf", m + "-q8_0." + r + ".json"})
		}
	}
	for _, q := range []string{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k_m", "q5_k_m", "q6_k"} {
		cs = append(cs, parityCase{"zoo/zoo-" + q + ".gguf", "zoo-" + q + ".seq16.json"})
	}
	// shared/ has no llama.cpp logits for zoo-q4_k_m (its Q4_K tensors are
	// covered by zoo-q3_k_m's parity). Compare it with the F32 original's
	// logits instead: that measures quantization error, so the bound is the
	// quantization error of Q4_K_M (measured 1.0e-2; README: up to ~0.3 per
	// logit): it catches a broken format, not an ulp-level mismatch.
	cs = append(cs, parityCase{"zoo/zoo-q4_k_m.gguf", "zoo-f32.seq16.json"})
	return cs
}

// q4kmVsF32Bound bounds zoo-q4_k_m's logits against the F32 model's: the
// error of 4-bit weights themselves, not of kiln against llama.cpp; measured
// 1.0e-2, so a wrong Q4_K or Q6_K decode (NMSE near 1) fails it.
const q4kmVsF32Bound = 2e-2

// nmse is Σ(a−b)²/Σb² over the stored rows.
func nmse(got []float32, want [][]float64, nv int) float64 {
	var num, den float64
	for r, row := range want {
		for i, b := range row {
			d := float64(got[r*nv+i]) - b
			num += d * d
			den += b * b
		}
	}
	return num / den
}

// TestLogitsParity evaluates each reference's tokens in one pass and compares
// the stored logit rows with llama.cpp's.
func TestLogitsParity(t *testing.T) {
	shared := sharedDir(t)
	for _, c := range llamaParityCases() {
		t.Run(strings.TrimSuffix(c.ref, ".json"), func(t *testing.T) {
			var ref logitsRef
			readJSON(t, filepath.Join(shared, "reference", "logits", c.ref), &ref)
			m, err := kiln.Load(filepath.Join(shared, "models", c.model), kiln.Options{Context: 512, Threads: 2, CacheTypeK: "f32", CacheTypeV: "f32"}) // the references ran with an F32 cache
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s, err := m.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			logits, err := s.Eval(ref.Tokens, true)
			if err != nil {
				t.Fatal(err)
			}
			nv := ref.NVocab
			got := logits[ref.LogitsFirstPos*nv:]
			e := nmse(got, ref.Logits, nv)
			bound := nmseBound(c.model)
			if strings.Contains(c.model, "q4_k_m") {
				bound = q4kmVsF32Bound
			}
			t.Logf("%s: NMSE %.3g (bound %.0g)", c.ref, e, bound)
			if e > bound {
				t.Errorf("NMSE %.3g exceeds %.0g", e, bound)
			}
		})
	}
}
