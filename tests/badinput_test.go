package tests

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
)

// Every test here feeds kiln one bad input built from a real shared model and
// requires an error whose text names the problem (the key, tensor, id, count
// or architecture): never a panic, a hang or a success. The corrupted files
// are written to t.TempDir, so nothing large is checked in.

const badInputModel = "stories260K-f32.gguf"

// guarded runs f in a goroutine and fails the test if f panics or does not
// return within a generous bound, so a regression shows as a named failure
// rather than a crashed or stuck test binary.
func guarded(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		f()
	}()
	select {
	case r := <-done:
		if r != nil {
			t.Fatalf("%s panicked: %v", what, r)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return within 30s", what)
	}
}

// loadErr loads path and returns the error, failing the test if kiln.Load
// succeeds: every problem below must be caught at load, not at first use.
func loadErr(t *testing.T, path string) error {
	t.Helper()
	var err error
	guarded(t, "kiln.Load", func() {
		var m *kiln.Model
		if m, err = kiln.Load(path, kiln.Options{Threads: 1}); err == nil {
			m.Close()
		}
	})
	if err == nil {
		t.Fatalf("loading %s succeeded, want an error", filepath.Base(path))
	}
	t.Logf("error: %v", err)
	return err
}

// wantMention fails unless err's text contains every one of parts.
func wantMention(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// sharedModel returns the path of a shared model.
func sharedModel(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(sharedDir(t), "models", name)
}

// patched writes a copy of the shared model with patch applied to its bytes.
func patched(t *testing.T, name string, patch func(b []byte) []byte) string {
	t.Helper()
	b, err := os.ReadFile(sharedModel(t, name))
	if err != nil {
		t.Fatal(err)
	}
	b = patch(b)
	out := filepath.Join(t.TempDir(), "bad.gguf")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// rewritten reads the shared model with gguf.Open, lets edit change its
// metadata and tensors, and writes the result with gguf.Write.
func rewritten(t *testing.T, name string, edit func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor)) string {
	t.Helper()
	f, err := gguf.Open(sharedModel(t, name))
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
	if err := gguf.Write(&buf, f.Version, kvs, ts, f.Alignment); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "edited.gguf")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// setKV replaces (or appends) key's value.
func setKV(t *testing.T, kvs []gguf.KV, key string, x any) []gguf.KV {
	t.Helper()
	v, err := gguf.ValueOf(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range kvs {
		if kvs[i].Key == key {
			kvs[i].Value = v
			return kvs
		}
	}
	return append(kvs, gguf.KV{Key: key, Value: v})
}

// dropKV removes key, failing if the file did not have it.
func dropKV(t *testing.T, kvs []gguf.KV, key string) []gguf.KV {
	t.Helper()
	for i := range kvs {
		if kvs[i].Key == key {
			return append(kvs[:i:i], kvs[i+1:]...)
		}
	}
	t.Fatalf("the model has no key %q to drop", key)
	return nil
}

// tensorInfoAt returns the header offset of the named tensor's info (its
// name's length prefix) in a GGUF file's bytes.
func tensorInfoAt(t *testing.T, b []byte, name string) int {
	t.Helper()
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(name)))
	i := bytes.Index(b, append(prefix[:], name...))
	if i < 0 {
		t.Fatalf("tensor info %q not found in the header", name)
	}
	return i
}

func TestBadInputTruncated(t *testing.T) {
	// Cut in half: the header survives, the tensor data does not.
	half := patched(t, badInputModel, func(b []byte) []byte { return b[:len(b)/2] })
	err := loadErr(t, half)
	if !errors.Is(err, gguf.ErrTruncated) {
		t.Errorf("error does not match gguf.ErrTruncated: %v", err)
	}
	wantMention(t, err, half, "tensor \"blk.", "runs past the end of the file")

	// Cut inside the metadata: the vocabulary's strings run out.
	head := patched(t, badInputModel, func(b []byte) []byte { return b[:1000] })
	err = loadErr(t, head)
	if !errors.Is(err, gguf.ErrTruncated) {
		t.Errorf("error does not match gguf.ErrTruncated: %v", err)
	}
	wantMention(t, err, "tokenizer.ggml.tokens", "past end of file")

	// Shorter than a header.
	err = loadErr(t, patched(t, badInputModel, func(b []byte) []byte { return b[:2] }))
	wantMention(t, err, "too short")
}

func TestBadInputCorruptHeader(t *testing.T) {
	// The first key is at offset 24 (magic, version, two counts); its value
	// type follows the key.
	t.Run("value type", func(t *testing.T) {
		var key string
		p := patched(t, badInputModel, func(b []byte) []byte {
			n := int(binary.LittleEndian.Uint64(b[24:]))
			key = string(b[32 : 32+n])
			binary.LittleEndian.PutUint32(b[32+n:], 0xdead)
			return b
		})
		wantMention(t, loadErr(t, p), "unknown value type 57005", `"`+key+`"`)
	})
	t.Run("key length", func(t *testing.T) {
		p := patched(t, badInputModel, func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[24:], 1<<60)
			return b
		})
		err := loadErr(t, p)
		wantMention(t, err, "kv 1 of", "string length 1152921504606846976")
		if !errors.Is(err, gguf.ErrTruncated) {
			t.Errorf("error does not match gguf.ErrTruncated: %v", err)
		}
	})
	t.Run("tensor type", func(t *testing.T) {
		const name = "blk.0.ffn_up.weight"
		p := patched(t, badInputModel, func(b []byte) []byte {
			at := tensorInfoAt(t, b, name) + 8 + len(name)
			nDims := int(binary.LittleEndian.Uint32(b[at:]))
			binary.LittleEndian.PutUint32(b[at+4+8*nDims:], 200)
			return b
		})
		wantMention(t, loadErr(t, p), `"`+name+`"`, "unknown tensor type 200")
	})
	t.Run("n_dims", func(t *testing.T) {
		const name = "blk.0.attn_q.weight"
		p := patched(t, badInputModel, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[tensorInfoAt(t, b, name)+8+len(name):], 77)
			return b
		})
		wantMention(t, loadErr(t, p), `"`+name+`"`, "n_dims 77")
	})
}

func TestBadInputWrongMagic(t *testing.T) {
	p := patched(t, badInputModel, func(b []byte) []byte {
		copy(b, "GGML")
		return b
	})
	wantMention(t, loadErr(t, p), "bad magic", `"GGML"`, "GGUF")
}

func TestBadInputUnsupportedVersion(t *testing.T) {
	for _, v := range []uint32{1, 99} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			p := patched(t, badInputModel, func(b []byte) []byte {
				binary.LittleEndian.PutUint32(b[4:], v)
				return b
			})
			wantMention(t, loadErr(t, p), fmt.Sprintf("unsupported GGUF version %d", v))
		})
	}
}

func TestBadInputTensorDataPastEnd(t *testing.T) {
	f, err := gguf.Open(sharedModel(t, badInputModel))
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors[len(f.Tensors)-1]
	size, dataOff, align := f.Size(), f.DataOffset, int64(f.Alignment)
	f.Close()
	// dataAt is where a tensor info's dims start.
	dimsAt := func(b []byte) int { return tensorInfoAt(t, b, last.Name) + 8 + len(last.Name) + 4 }

	// The last tensor's data moved to just past the end of the intact file.
	off := (size - dataOff + align) / align * align
	p := patched(t, badInputModel, func(b []byte) []byte {
		binary.LittleEndian.PutUint64(b[dimsAt(b)+8*len(last.Dims)+4:], uint64(off))
		return b
	})
	err = loadErr(t, p)
	wantMention(t, err, `"`+last.Name+`"`, fmt.Sprintf("offset %d", off), "runs past the end of the file")
	if !errors.Is(err, gguf.ErrTruncated) {
		t.Errorf("error does not match gguf.ErrTruncated: %v", err)
	}

	// A shape that claims more bytes than the file holds.
	p = patched(t, badInputModel, func(b []byte) []byte {
		binary.LittleEndian.PutUint64(b[dimsAt(b)+8*(len(last.Dims)-1):], 1<<20)
		return b
	})
	wantMention(t, loadErr(t, p), `"`+last.Name+`"`, "runs past the end of the file")

	// The file's last bytes cut off: the header still promises them.
	p = patched(t, badInputModel, func(b []byte) []byte { return b[:len(b)-64] })
	wantMention(t, loadErr(t, p), `"`+last.Name+`"`, "runs past the end of the file")
}

func TestBadInputAbsurdCounts(t *testing.T) {
	st, err := os.Stat(sharedModel(t, badInputModel))
	if err != nil {
		t.Fatal(err)
	}
	fileSize := uint64(st.Size())
	cases := []struct {
		name  string
		at    int // 8: tensor count, 16: kv count
		count uint64
		want  []string
	}{
		{"tensors 2^62", 8, 1 << 62, []string{"tensor count 4611686018427387904", "exceeds file size"}},
		{"tensors 2^32", 8, 1 << 32, []string{"tensor count 4294967296", "exceeds file size"}},
		{"kvs 2^62", 16, 1 << 62, []string{"kv count 4611686018427387904", "exceeds file size"}},
		{"kvs max", 16, 1<<64 - 1, []string{"kv count 18446744073709551615", "exceeds file size"}},
		// Counts no larger than the file pass that first check; the parse
		// then runs into bytes that are not kvs or tensor infos, and must
		// not have reserved room for the claimed count meanwhile.
		{"kvs file size", 16, fileSize, []string{fmt.Sprintf("kv 21 of %d", fileSize)}},
		{"tensors file size", 8, fileSize, []string{fmt.Sprintf("tensor info 49 of %d", fileSize)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := patched(t, badInputModel, func(b []byte) []byte {
				binary.LittleEndian.PutUint64(b[c.at:], c.count)
				return b
			})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := loadErr(t, p)
			runtime.ReadMemStats(&after)
			wantMention(t, err, c.want...)
			// The file is memory-mapped, so what Load allocates is only
			// the parsed metadata (about 0.1 MB here); a lying count must
			// not add to it.
			const bound = 2 << 20
			d := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d bytes", d)
			if d > bound {
				t.Errorf("loading allocated %d bytes (bound %d)", d, bound)
			}
		})
	}
}

func TestBadInputUnknownArchitecture(t *testing.T) {
	p := rewritten(t, badInputModel, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return setKV(t, kvs, "general.architecture", "nosucharch"), ts
	})
	err := loadErr(t, p)
	if !errors.Is(err, models.ErrUnknownArch) {
		t.Errorf("error does not match models.ErrUnknownArch: %v", err)
	}
	wantMention(t, err, `unknown architecture "nosucharch"`, "llama")

	p = rewritten(t, badInputModel, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return dropKV(t, kvs, "general.architecture"), ts
	})
	wantMention(t, loadErr(t, p), `"general.architecture"`, "missing")
}

func TestBadInputMissingTensor(t *testing.T) {
	const name = "blk.0.ffn_up.weight"
	p := rewritten(t, badInputModel, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		for i := range ts {
			if ts[i].Name == name {
				return kvs, append(ts[:i:i], ts[i+1:]...)
			}
		}
		t.Fatalf("no tensor %s", name)
		return nil, nil
	})
	wantMention(t, loadErr(t, p), "missing tensor", `"`+name+`"`, p)
}

func TestBadInputWrongTensorShape(t *testing.T) {
	const name = "blk.1.attn_k.weight"
	p := rewritten(t, badInputModel, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		for i := range ts {
			if ts[i].Name == name {
				// Same bytes, rows and columns swapped.
				ts[i].Dims = []uint64{ts[i].Dims[1], ts[i].Dims[0]}
			}
		}
		return kvs, ts
	})
	wantMention(t, loadErr(t, p), `"`+name+`"`, "shape [64 32], want [32 64]")
}

func TestBadInputMissingKey(t *testing.T) {
	const key = "llama.embedding_length"
	p := rewritten(t, badInputModel, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
		return dropKV(t, kvs, key), ts
	})
	err := loadErr(t, p)
	if !errors.Is(err, gguf.ErrMissingKey) {
		t.Errorf("error does not match gguf.ErrMissingKey: %v", err)
	}
	wantMention(t, err, `"`+key+`"`, "missing")
}

func TestBadInputInconsistentKey(t *testing.T) {
	cases := []struct {
		key  string
		val  any
		want []string
	}{
		// 64 is not a multiple of 5.
		{"llama.attention.head_count", uint32(5), []string{`"llama.embedding_length"`, "64", "head_count 5"}},
		// 8 heads cannot share 3 kv heads.
		{"llama.attention.head_count_kv", uint32(3), []string{`"llama.attention.head_count_kv"`, "3", "head_count 8"}},
		{"llama.block_count", uint32(0), []string{`"llama.block_count"`, "out of range"}},
		// A key of the wrong type names the key and both types.
		{"llama.embedding_length", "sixty-four", []string{`"llama.embedding_length"`, "unsigned integer", "string"}},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			p := rewritten(t, badInputModel, func(kvs []gguf.KV, ts []gguf.WriterTensor) ([]gguf.KV, []gguf.WriterTensor) {
				return setKV(t, kvs, c.key, c.val), ts
			})
			wantMention(t, loadErr(t, p), c.want...)
		})
	}
}

func TestBadInputMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.gguf")
	err := loadErr(t, p)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error does not match fs.ErrNotExist: %v", err)
	}
	wantMention(t, err, p)
}

// evalSession loads the real model with a 16-token context.
func evalSession(t *testing.T) *kiln.Session {
	t.Helper()
	m, err := kiln.Load(sharedModel(t, badInputModel), kiln.Options{Context: 16, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// evalErr runs Eval expecting an error, and checks that the failed call left
// the session where it was.
func evalErr(t *testing.T, s *kiln.Session, ids []int32) error {
	t.Helper()
	pos := s.Pos()
	var err error
	guarded(t, "Session.Eval", func() { _, err = s.Eval(ids, false) })
	if err == nil {
		t.Fatalf("Eval(%d tokens) succeeded, want an error", len(ids))
	}
	t.Logf("error: %v", err)
	if s.Pos() != pos {
		t.Errorf("failed Eval moved the position from %d to %d", pos, s.Pos())
	}
	return err
}

func TestBadInputTokenOutOfRange(t *testing.T) {
	s := evalSession(t)
	wantMention(t, evalErr(t, s, []int32{1, 348, -1}), "id -1", "token 2", "[0,512)")
	wantMention(t, evalErr(t, s, []int32{512}), "id 512", "[0,512)")
	wantMention(t, evalErr(t, s, []int32{1, 1 << 30}), "id 1073741824")
	// The session still works after the rejected calls.
	if _, err := s.Eval([]int32{1, 348, 342}, false); err != nil {
		t.Fatalf("Eval after rejected calls: %v", err)
	}
}

func TestBadInputPromptLongerThanContext(t *testing.T) {
	s := evalSession(t)
	ids := make([]int32, 40)
	for i := range ids {
		ids[i] = int32(1 + i)
	}
	wantMention(t, evalErr(t, s, ids), "40 tokens", "context length 16")
	// Filling the context exactly is fine; one more token is not.
	if _, err := s.Eval(ids[:16], false); err != nil {
		t.Fatalf("Eval of exactly the context: %v", err)
	}
	wantMention(t, evalErr(t, s, ids[:1]), "position 16", "context length 16")
}

func TestBadInputEvalNoTokens(t *testing.T) {
	s := evalSession(t)
	wantMention(t, evalErr(t, s, nil), "no tokens")
	wantMention(t, evalErr(t, s, []int32{}), "no tokens")
}
