package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/tokenizer"
	"github.com/kiln-ml/kiln/runtime/cuda"
	"github.com/kiln-ml/kiln/runtime/metal"
)

// cudaOrSkip skips a test on machines without a working CUDA device (CI).
func cudaOrSkip(t *testing.T) {
	t.Helper()
	r, err := cuda.New(cuda.Graph)
	if err != nil {
		t.Skipf("no CUDA device here (%v); the GPU parity tests run on a machine with one", err)
	}
	r.Close()
}

// metalOrSkip skips a test off macOS or without a Metal device (CI).
func metalOrSkip(t *testing.T) {
	t.Helper()
	r, err := metal.New()
	if err != nil {
		t.Skipf("no Metal device here (%v); the Metal parity tests run on a Mac", err)
	}
	r.Close()
}

// TestCUDALogitsParity is TestLogitsParity on the CUDA backend, with the
// same references and bounds, in graph mode (one graph launch per chunk).
func TestCUDALogitsParity(t *testing.T) {
	cudaOrSkip(t)
	gpuLogitsParity(t, "cuda")
}

// TestMetalLogitsParity is TestLogitsParity on the Metal backend.
func TestMetalLogitsParity(t *testing.T) {
	metalOrSkip(t)
	gpuLogitsParity(t, "metal")
}

// gpuParityCases are the llama cases plus the other architectures (qwen2's
// biases, qwen3's per-head norms, gemma's scales, soft-caps, GELU gate and
// sliding windows, phi3's fused tensors).
func gpuParityCases() []parityCase {
	cs := llamaParityCases()
	for _, m := range []string{"qwen2", "qwen3", "gemma2", "gemma3", "phi3"} {
		for _, r := range []string{"seq16", "rand200"} {
			cs = append(cs, parityCase{"synth/" + m + "-q8_0.gguf", m + "-q8_0." + r + ".json"})
		}
	}
	return cs
}

func gpuLogitsParity(t *testing.T, backend string) {
	shared := sharedDir(t)
	for _, c := range gpuParityCases() {
		t.Run(strings.TrimSuffix(c.ref, ".json"), func(t *testing.T) {
			var ref logitsRef
			readJSON(t, filepath.Join(shared, "reference", "logits", c.ref), &ref)
			m, err := kiln.Load(filepath.Join(shared, "models", c.model), kiln.Options{Context: 512, Threads: 2, Backend: backend})
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
			e := nmse(logits[ref.LogitsFirstPos*nv:], ref.Logits, nv)
			bound := nmseBound(c.model)
			if strings.Contains(c.model, "q4_k_m") {
				bound = q4kmVsF32Bound
			}
			t.Logf("%s on %s: NMSE %.3g (bound %.0g)", c.ref, m.Backend(), e, bound)
			if e > bound {
				t.Errorf("NMSE %.3g exceeds %.0g", e, bound)
			}
		})
	}
}

// TestCUDAPerplexity requires gocoder-11m's perplexity on the CUDA backend
// within 0.1% of the CPU backend's on the same text.
func TestCUDAPerplexity(t *testing.T) {
	shared := sharedDir(t)
	cudaOrSkip(t)
	var ref pplRef
	readJSON(t, filepath.Join(shared, "reference", "ppl", "gocoder-11m-q8_0.nethttp-60k.json"), &ref)
	text, err := os.ReadFile(filepath.Join(shared, "data", "nethttp-60k.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ppl := map[string]float64{}
	for _, backend := range []string{"cpu", "cuda"} {
		m, err := kiln.Load(filepath.Join(shared, "models", "gocoder-11m-q8_0.gguf"), kiln.Options{Context: ref.NCtx, Backend: backend})
		if err != nil {
			t.Fatal(err)
		}
		ids, err := m.Tok.Encode(strings.TrimSuffix(string(text), "\n"), tokenizer.EncodeOptions{AddBOS: true})
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Perplexity(context.Background(), ids, ref.NCtx, nil)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		ppl[backend] = r.PPL
	}
	rel := (ppl["cuda"] - ppl["cpu"]) / ppl["cpu"]
	t.Logf("gocoder-11m nethttp-60k: cuda ppl %.5f, cpu %.5f (%+.4f%%), llama.cpp %.5f", ppl["cuda"], ppl["cpu"], 100*rel, ref.Exact.FinalPPL)
	if rel > 0.001 || rel < -0.001 {
		t.Errorf("cuda ppl %.5f differs from the cpu's %.5f by %.3f%% (bound 0.1%%)", ppl["cuda"], ppl["cpu"], 100*rel)
	}
}
