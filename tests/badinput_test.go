package tests

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/gguf"
)

// rewrite copies a shared model through the GGUF writer after edit has
// changed its metadata or tensor list, and returns the new file's path.
func rewrite(t *testing.T, src string, edit func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor)) string {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kvs := append([]gguf.KV(nil), f.KVs...)
	var ts []gguf.WriterTensor
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		ts = append(ts, gguf.WriterTensor{Name: ti.Name, Dims: ti.Dims, Type: ti.Type, Data: f.TensorData(ti)})
	}
	kvs, ts = edit(kvs, ts)
	var buf bytes.Buffer
	if err := gguf.Write(&buf, 3, kvs, ts, 0); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "edited.gguf")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func setKV(kvs []gguf.KV, key string, v any) []gguf.KV {
	val := gguf.MustValueOf(v)
	for i := range kvs {
		if kvs[i].Key == key {
			kvs[i].Value = val
			return kvs
		}
	}
	return append(kvs, gguf.KV{Key: key, Value: val})
}

func dropKV(kvs []gguf.KV, key string) []gguf.KV {
	var r []gguf.KV
	for _, kv := range kvs {
		if kv.Key != key {
			r = append(r, kv)
		}
	}
	return r
}

// wantLoadError loads path and requires an error mentioning every fragment.
func wantLoadError(t *testing.T, path string, fragments ...string) {
	t.Helper()
	m, err := kiln.Load(path, kiln.Options{Threads: 1})
	if err == nil {
		m.Close()
		t.Fatalf("loading %s succeeded, want an error mentioning %q", path, fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}

func writeBytes(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bad.gguf")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func storiesBytes(t *testing.T) (string, []byte) {
	src := filepath.Join(sharedDir(t), "models", "stories260K-f32.gguf")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return src, b
}

func TestBadInputTruncated(t *testing.T) {
	_, b := storiesBytes(t)
	wantLoadError(t, writeBytes(t, b[:len(b)/2]), "runs past the end", "tensor")
	wantLoadError(t, writeBytes(t, b[:100]), "past end", "tokenizer.ggml.tokens")
}

func TestBadInputWrongMagic(t *testing.T) {
	_, b := storiesBytes(t)
	c := bytes.Clone(b)
	copy(c, "GGML")
	wantLoadError(t, writeBytes(t, c), "magic")
}

func TestBadInputVersion(t *testing.T) {
	_, b := storiesBytes(t)
	for _, v := range []uint32{1, 99} {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint32(c[4:], v)
		wantLoadError(t, writeBytes(t, c), "version")
	}
}

func TestBadInputCorruptHeader(t *testing.T) {
	_, b := storiesBytes(t)
	c := bytes.Clone(b)
	// The first key's length: make it run past the end of the file.
	binary.LittleEndian.PutUint64(c[24:], 1<<40)
	wantLoadError(t, writeBytes(t, c), "gguf")
}

// An absurd tensor count must fail fast without allocating for it.
func TestBadInputAbsurdCount(t *testing.T) {
	_, b := storiesBytes(t)
	for _, off := range []int{8, 16} { // tensor count, kv count
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint64(c[off:], 1<<60)
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		wantLoadError(t, writeBytes(t, c), "count")
		goruntime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("a lying count made the loader allocate %d MiB", grew>>20)
		}
	}
}

func TestBadInputTensorPastEnd(t *testing.T) {
	src, _ := storiesBytes(t)
	p := rewrite(t, src, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) { return kvs, ts })
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the last tensor's bytes: its header still promises them.
	wantLoadError(t, writeBytes(t, b[:len(b)-64]), "tensor", "runs past the end of the file")
}

func TestBadInputUnknownArchitecture(t *testing.T) {
	src, _ := storiesBytes(t)
	p := rewrite(t, src, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return setKV(kvs, "general.architecture", "nosucharch"), ts
	})
	wantLoadError(t, p, "unknown architecture", "nosucharch")
}

func TestBadInputMissingTensor(t *testing.T) {
	src, _ := storiesBytes(t)
	p := rewrite(t, src, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		var r []gguf.WriterTensor
		for _, x := range ts {
			if x.Name != "blk.0.ffn_up.weight" {
				r = append(r, x)
			}
		}
		return kvs, r
	})
	// The graph is built on first use: loading succeeds, the first session names the tensor.
	m, err := kiln.Load(p, kiln.Options{Threads: 1})
	if err != nil {
		if !strings.Contains(err.Error(), "blk.0.ffn_up.weight") {
			t.Fatalf("error %q does not name the missing tensor", err)
		}
		return
	}
	defer m.Close()
	_, err = m.NewSession()
	if err == nil || !strings.Contains(err.Error(), "blk.0.ffn_up.weight") || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("NewSession error %v, want one naming the missing tensor", err)
	}
}

func TestBadInputMissingKey(t *testing.T) {
	src, _ := storiesBytes(t)
	p := rewrite(t, src, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return dropKV(kvs, "llama.embedding_length"), ts
	})
	wantLoadError(t, p, "llama.embedding_length", "missing")
}

func TestBadInputInconsistentKey(t *testing.T) {
	src, _ := storiesBytes(t)
	p := rewrite(t, src, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return setKV(kvs, "llama.attention.head_count", uint32(7)), ts
	})
	wantLoadError(t, p, "llama.embedding_length", "head_count")
}

func TestBadInputTokenOutOfRange(t *testing.T) {
	src, _ := storiesBytes(t)
	m, err := kiln.Load(src, kiln.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int32{-1, 512, 1 << 30} {
		_, err := s.Eval([]int32{1, id}, false)
		if err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("token %d: error %v, want out of range", id, err)
		}
	}
	if _, err := s.Eval(nil, false); err == nil {
		t.Error("Eval of no tokens succeeded")
	}
	if s.Pos() != 0 {
		t.Errorf("failed evals moved the position to %d", s.Pos())
	}
}

func TestBadInputPromptLongerThanContext(t *testing.T) {
	src, _ := storiesBytes(t)
	m, err := kiln.Load(src, kiln.Options{Threads: 1, Context: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Eval(make([]int32, 40), false)
	if err == nil || !strings.Contains(err.Error(), "context length 16") {
		t.Fatalf("error %v, want one naming the context length", err)
	}
	// Filling the context exactly works; one more token is an error.
	if _, err := s.Eval(make([]int32, 16), false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Eval([]int32{1}, false); err == nil {
		t.Fatal("evaluating past the context succeeded")
	}
}

func TestBadInputMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.gguf")
	wantLoadError(t, p, "nope.gguf")
}
