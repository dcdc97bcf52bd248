package tokenizer

import (
	"encoding/json"
	"github.com/kiln-ml/kiln/tests/testshared"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/kiln-ml/kiln/models/gguf"
)

// sharedDir returns <repo root>/../shared, where the shared test data lives,
// skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	return testshared.Dir(t)
}

// sharedFile returns the path of a file under the shared directory,
// skipping the test when it is absent.
func sharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedDir(t), rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test file %s not found", p)
	}
	return p
}

var tokCache sync.Map // path -> *Tokenizer

// loadGGUF builds the tokenizer of a shared GGUF file, once per path.
func loadGGUF(t testing.TB, rel string) *Tokenizer {
	t.Helper()
	p := sharedFile(t, rel)
	if tk, ok := tokCache.Load(p); ok {
		return tk.(*Tokenizer)
	}
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	defer f.Close()
	tk, err := FromGGUF(f)
	if err != nil {
		t.Fatalf("FromGGUF(%s): %v", rel, err)
	}
	tokCache.Store(p, tk)
	return tk
}

type refCase struct {
	Text              string  `json:"text"`
	IDsNoBOS          []int32 `json:"ids_no_bos"`
	IDsBOS            []int32 `json:"ids_bos"`
	IDsNoBOSNoSpecial []int32 `json:"ids_no_bos_no_special"`
}

func loadCases(t testing.TB, rel string) []refCase {
	t.Helper()
	data, err := os.ReadFile(sharedFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	var cases []refCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return cases
}

// refVocabs maps each reference case set to the vocabulary llama.cpp used.
var refVocabs = []struct{ name, vocab string }{
	{"llama-spm", "models/llama-2-tiny-random-f16.gguf"},
	{"phi-3", "vocab/ggml-vocab-phi-3.gguf"},
	{"llama-bpe", "vocab/ggml-vocab-llama-bpe.gguf"},
	{"qwen2", "vocab/ggml-vocab-qwen2.gguf"},
}

// TestReference checks Encode against llama.cpp's ids for every case, in
// all three modes.
func TestReference(t *testing.T) {
	for _, rv := range refVocabs {
		for _, suffix := range []string{"", ".inp"} {
			name := rv.name + suffix
			t.Run(name, func(t *testing.T) {
				cases := loadCases(t, "reference/tokenizer/"+name+".json")
				tk := loadGGUF(t, rv.vocab)
				for i, c := range cases {
					for _, m := range []struct {
						mode string
						opt  EncodeOptions
						want []int32
					}{
						{"no_bos", EncodeOptions{ParseSpecial: true}, c.IDsNoBOS},
						{"bos", EncodeOptions{AddBOS: true, ParseSpecial: true}, c.IDsBOS},
						{"no_bos_no_special", EncodeOptions{}, c.IDsNoBOSNoSpecial},
					} {
						got, err := tk.Encode(c.Text, m.opt)
						if err != nil {
							t.Errorf("case %d %q %s: %v", i, c.Text, m.mode, err)
							continue
						}
						if !slices.Equal(got, m.want) {
							t.Errorf("case %d %q %s:\n got %v\nwant %v", i, c.Text, m.mode, got, m.want)
						}
					}
				}
			})
		}
	}
}
