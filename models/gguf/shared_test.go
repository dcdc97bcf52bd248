package gguf

import (
	"bytes"
	"github.com/kiln-ml/kiln/tests/testshared"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDir returns <repo root>/../shared, or skips the test when it is absent.
func sharedDir(t *testing.T) string {
	return testshared.Dir(t)
}

// sharedFiles lists every .gguf file under shared/models and shared/vocab.
func sharedFiles(t *testing.T) []string {
	shared := sharedDir(t)
	var files []string
	for _, sub := range []string{"models", "vocab"} {
		err := filepath.WalkDir(filepath.Join(shared, sub), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".gguf") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		t.Skipf("no .gguf files under %s/{models,vocab}", shared)
	}
	return files
}

func TestSharedFiles(t *testing.T) {
	for _, path := range sharedFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Size() != st.Size() {
				t.Errorf("Size %d, file is %d bytes", f.Size(), st.Size())
			}
			if _, err := f.String("general.architecture"); err != nil {
				t.Error(err)
			}
			for i := range f.Tensors {
				ti := &f.Tensors[i]
				d := f.TensorData(ti)
				end := f.DataOffset + int64(ti.Offset) + ti.Size
				if int64(len(d)) != ti.Size || end > f.Size() {
					t.Errorf("tensor %q: %d bytes of data, want %d ending at %d of %d", ti.Name, len(d), ti.Size, end, f.Size())
				}
			}
			if err := f.Describe(io.Discard, 8); err != nil {
				t.Error(err)
			}
			// The writer lays files out as llama.cpp does, so rewriting what
			// was read should reproduce the file exactly.
			var buf bytes.Buffer
			if err := Write(&buf, f.Version, f.KVs, writerTensors(f), f.Alignment); err != nil {
				t.Fatal(err)
			}
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), orig) {
				n := 0
				for n < min(buf.Len(), len(orig)) && buf.Bytes()[n] == orig[n] {
					n++
				}
				t.Errorf("rewrite differs from the file: %d vs %d bytes, first difference at %d", buf.Len(), len(orig), n)
			}
		})
	}
}

func TestSharedGocoder(t *testing.T) {
	path := filepath.Join(sharedDir(t), "models", "gocoder-11m-q8_0.gguf")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not found", path)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if s, err := f.String("general.architecture"); s != "llama" || err != nil {
		t.Errorf("general.architecture = %q, %v", s, err)
	}
	for key, want := range map[string]uint64{"llama.block_count": 6, "llama.embedding_length": 384} {
		if got, err := f.Uint(key); got != want || err != nil {
			t.Errorf("%s = %d, %v; want %d", key, got, err, want)
		}
	}
	toks, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil || len(toks) != 4096 || toks[0] != "<|endoftext|>" {
		t.Errorf("tokenizer.ggml.tokens: %d tokens, %v", len(toks), err)
	}
	if m, err := f.String("tokenizer.ggml.model"); m != "gpt2" || err != nil {
		t.Errorf("tokenizer.ggml.model = %q, %v", m, err)
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		t.Fatal("no token_embd.weight")
	}
	if len(emb.Dims) != 2 || emb.Dims[0] != 384 || emb.Dims[1] != 4096 {
		t.Errorf("token_embd.weight dims %v, want [384 4096]", emb.Dims)
	}
}
