package synth

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/models/tokenizer"
	"github.com/kiln-ml/kiln/ops/quant"
)

// tiny is small enough to generate in a test, with rows that are and are
// not multiples of the k-quant block (256 and 320).
var tiny = Shape{Name: "tiny", Dim: 256, Layers: 4, Heads: 4, KVHeads: 2, FFN: 320, Vocab: 600, Ctx: 128, RopeBase: 10000, Tied: true}

func TestWriteLoadsAndRuns(t *testing.T) {
	for _, mix := range Mixes {
		t.Run(mix, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tiny, mix, 1); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			types := map[quant.Type]bool{}
			for _, ti := range f.Tensors {
				types[ti.Type] = true
			}
			f.Close()
			switch mix {
			case "q4_k_m":
				// 256-wide rows take Q4_K/Q6_K; the 320-wide ffn_down falls back.
				if !types[quant.Q4_K] || !types[quant.Q6_K] || !types[quant.Q5_0] && !types[quant.Q8_0] {
					t.Errorf("q4_k_m mix has types %v", types)
				}
			case "q8_0":
				if !types[quant.Q8_0] {
					t.Errorf("q8_0 mix has types %v", types)
				}
			}
			m, err := kiln.Load(path, kiln.Options{Threads: 2, Context: 64})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s, err := m.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			logits, err := s.Eval([]int32{599, 3, 77, 256, 5}, false)
			if err != nil {
				t.Fatal(err)
			}
			var ss float64
			for _, v := range logits {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite logit %v", v)
				}
				ss += float64(v) * float64(v)
			}
			if ss == 0 {
				t.Fatal("all logits are zero")
			}
			if _, err := m.Tok.Encode("a test", tokenizer.EncodeOptions{AddBOS: true}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := Write(&a, tiny, "q4_0", 7); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, tiny, "q4_0", 7); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same shape, type and seed gave different files")
	}
	if err := Write(&a, tiny, "q3_xx", 7); err == nil {
		t.Fatal("unknown type accepted")
	}
}

// TestQwen2 checks a qwen2 shape: the file names its architecture, carries
// the Q/K/V biases, and runs.
func TestQwen2(t *testing.T) {
	s := tiny
	s.Name, s.Arch = "tiny-qwen2", "qwen2"
	var buf bytes.Buffer
	if err := Write(&buf, s, "q8_0", 1); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "q.gguf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := kiln.Load(path, kiln.Options{Threads: 2, Context: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if a := m.Hyper().Arch; a != "qwen2" {
		t.Fatalf("architecture %q, want qwen2", a)
	}
	if _, ok := m.File.Tensor("blk.3.attn_v.bias"); !ok {
		t.Fatal("no blk.3.attn_v.bias")
	}
	sess, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	logits, err := sess.Eval([]int32{599, 3, 77}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range logits {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("non-finite logit %v", v)
		}
	}
	if sh, ok := Shapes["qwen2.5-0.5b"]; !ok || sh.Arch != "qwen2" || sh.Dim/sh.Heads != 64 {
		t.Errorf("qwen2.5-0.5b shape %+v", sh)
	}
}
