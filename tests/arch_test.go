package tests

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/archtest"
)

// synthArches are the models of shared/models/synth, one per architecture
// detail llama.cpp computes (see shared/README.md).
var synthArches = []string{"llama3", "smollm2", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"}

// evalSplit evaluates tokens from position 0 in steps of the given sizes
// (repeated until the tokens run out) and returns every position's logits.
func evalSplit(t *testing.T, m *kiln.Model, tokens []int32, steps []int) []float32 {
	t.Helper()
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	nv := m.Hyper().NVocab
	out := make([]float32, 0, len(tokens)*nv)
	for i, done := 0, 0; done < len(tokens); i++ {
		n := min(steps[i%len(steps)], len(tokens)-done)
		logits, err := s.Eval(tokens[done:done+n], true)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, logits...)
		done += n
	}
	return out
}

// firstDiff returns the first position whose logits differ in any bit, or -1.
func firstDiff(a, b []float32, nv int) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i / nv
		}
	}
	return -1
}

// TestArchParity checks every synthetic architecture against llama.cpp's
// logits (NMSE within the 8-bit bound) with all lowering passes on, and then
// that the logits do not change by a single bit with each optional pass
// switched off, nor when the prompt is evaluated token by token or split
// into other chunks: the logits at position i depend only on tokens 0..i.
func TestArchParity(t *testing.T) {
	shared := sharedDir(t)
	var optional []string
	for _, p := range lower.Passes() {
		if !p.Required {
			optional = append(optional, p.Name)
		}
	}
	for _, arch := range synthArches {
		model := filepath.Join(shared, "models", "synth", arch+"-q8_0.gguf")
		for _, r := range []string{"seq16", "rand200"} {
			name := arch + "-q8_0." + r
			t.Run(name, func(t *testing.T) {
				var ref logitsRef
				readJSON(t, filepath.Join(shared, "reference", "logits", name+".json"), &ref)
				load := func(disable ...string) *kiln.Model {
					m, err := kiln.Load(model, kiln.Options{Context: 256, Threads: 2, DisablePasses: disable, CacheTypeK: "f32", CacheTypeV: "f32"}) // the references ran with an F32 cache
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { m.Close() })
					return m
				}
				m := load()
				if r == "seq16" {
					checkPrograms(t, m, optional)
				}
				nv := ref.NVocab
				if got := m.Hyper().NVocab; got != nv {
					t.Fatalf("vocabulary %d, reference %d", got, nv)
				}
				n := len(ref.Tokens)
				// One step for the whole prompt, as llama.cpp evaluated it.
				base := evalSplit(t, m, ref.Tokens, []int{n})
				e := nmse(base[ref.LogitsFirstPos*nv:], ref.Logits, nv)
				bound := nmseBound(model)
				t.Logf("%s: NMSE %.3g (bound %.0g)", name, e, bound)
				if e > bound || math.IsNaN(e) {
					t.Errorf("NMSE %.3g exceeds %.0g", e, bound)
				}
				splits := [][]int{{1}, {3, 5}, {7, 64}}
				for _, steps := range splits {
					if p := firstDiff(evalSplit(t, m, ref.Tokens, steps), base, nv); p >= 0 {
						t.Errorf("steps of %v: logits at position %d differ from one pass", steps, p)
					}
				}
				for _, pass := range optional {
					got := evalSplit(t, load(pass), ref.Tokens, []int{n})
					if p := firstDiff(got, base, nv); p >= 0 {
						t.Errorf("pass %s off: logits at position %d differ (NMSE against llama.cpp %.3g)",
							pass, p, nmse(got[ref.LogitsFirstPos*nv:], ref.Logits, nv))
					}
				}
			})
		}
	}
}

// checkPrograms lowers m's graph for every shape class with the checker on
// (graph validity after each pass, the schedule's levels, the memory
// plan's liveness), with all passes and with each optional one off.
func checkPrograms(t *testing.T, m *kiln.Model, optional []string) {
	t.Helper()
	for _, T := range append([]int{1}, kiln.PrefillChunks...) {
		for _, all := range []bool{false, true} {
			for _, off := range append([]string{""}, optional...) {
				opt := lower.Options{Check: true}
				if off != "" {
					opt.Disable = []string{off}
				}
				if _, err := m.Compile(models.Shape{Tokens: T, AllLogits: all}, opt); err != nil {
					t.Fatalf("T=%d all=%v without %q: %v", T, all, off, err)
				}
			}
		}
	}
}

// TestArchDescribe checks that each architecture reports its own structure
// (what kiln inspect and kiln graph print).
func TestArchDescribe(t *testing.T) {
	shared := sharedDir(t)
	want := map[string]string{
		"qwen2":  "Q, K, V biases",
		"qwen3":  "per-head RMS norms on Q and K before rope",
		"gemma2": "sliding window 64 on layers [0], full attention on layers [1]",
		"gemma3": "rope base 10000 on the sliding-window layers",
		"phi3":   "fused attn_qkv: Q rows [0,256), K rows [256,384), V rows [384,512)",
	}
	for arch, line := range want {
		m, err := kiln.Load(filepath.Join(shared, "models", "synth", arch+"-q8_0.gguf"), kiln.Options{Context: 64, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		d, ok := m.Arch.(interface{ Describe() []string })
		if !ok {
			t.Fatalf("%s: no Describe", arch)
		}
		if lines := d.Describe(); !contains(lines, line) {
			t.Errorf("%s: Describe() = %q, want a line %q", arch, lines, line)
		}
		m.Close()
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// TestMistralWindow runs the llama3 model as a Mistral file with a sliding
// window of 8: up to position 7 every key is inside the window, so the
// logits equal those without one, bit for bit; later they differ. And the
// window, like everything else, must not depend on how the prompt is split.
func TestMistralWindow(t *testing.T) {
	f := archtest.Open(t, "llama3")
	path := filepath.Join(t.TempDir(), "mistral.gguf")
	if err := os.WriteFile(path, archtest.Bytes(t, f, archtest.Edit{Set: map[string]any{"llama.attention.sliding_window": uint32(8)}}), 0o644); err != nil {
		t.Fatal(err)
	}
	var ref logitsRef
	readJSON(t, filepath.Join(sharedDir(t), "reference", "logits", "llama3-q8_0.rand200.json"), &ref)
	tokens := ref.Tokens[:40]
	open := func(p string) *kiln.Model {
		m, err := kiln.Load(p, kiln.Options{Context: 64, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	mistral, llama := open(path), open(filepath.Join(sharedDir(t), "models", "synth", "llama3-q8_0.gguf"))
	nv := mistral.Hyper().NVocab
	w := evalSplit(t, mistral, tokens, []int{len(tokens)})
	full := evalSplit(t, llama, tokens, []int{len(tokens)})
	if p := firstDiff(w, full, nv); p != 8 {
		t.Errorf("with a window of 8 the logits first differ at position %d, want 8", p)
	}
	if p := firstDiff(evalSplit(t, mistral, tokens, []int{1, 5}), w, nv); p >= 0 {
		t.Errorf("steps of 1 and 5: logits at position %d differ from one pass", p)
	}
}

// TestArchDecodeAllocatesNothing checks the zero-allocation promise of a
// decode step for every architecture's ops (soft-caps, GELU, per-head
// norms, biases, row-sliced weights).
func TestArchDecodeAllocatesNothing(t *testing.T) {
	shared := sharedDir(t)
	for _, arch := range synthArches {
		m, err := kiln.Load(filepath.Join(shared, "models", "synth", arch+"-q8_0.gguf"), kiln.Options{Context: 256, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		tok := []int32{1}
		step := func() {
			if _, err := s.Eval(tok, false); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if n := testing.AllocsPerRun(50, step); n != 0 {
			t.Errorf("%s: a decode step allocates %v times", arch, n)
		}
		m.Close()
	}
}
