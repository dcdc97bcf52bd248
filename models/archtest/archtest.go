// Package archtest helps the architectures' tests: it opens the shared
// synthetic model of an architecture, rewrites it with a metadata key or a
// tensor changed (to check that bad files get clear errors), and builds its
// graph.
package archtest

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/tests/testshared"
)

// Open opens shared/models/synth/NAME-q8_0.gguf, skipping the test when
// the shared material is absent. The file is closed when the test ends.
func Open(t testing.TB, name string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(filepath.Join(testshared.Dir(t), "models", "synth", name+"-q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Edit is a change to a file: metadata to set (nil value: delete the key)
// and tensors to drop.
type Edit struct {
	Set  map[string]any
	Drop []string
}

// Rewrite returns f with e applied, parsed from memory.
func Rewrite(t testing.TB, f *gguf.File, e Edit) *gguf.File {
	t.Helper()
	g, err := gguf.Parse(Bytes(t, f, e))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Bytes returns the GGUF file f with e applied.
func Bytes(t testing.TB, f *gguf.File, e Edit) []byte {
	t.Helper()
	var kvs []gguf.KV
	for _, kv := range f.KVs {
		if v, ok := e.Set[kv.Key]; ok {
			if v != nil {
				kvs = append(kvs, gguf.KV{Key: kv.Key, Value: gguf.MustValueOf(v)})
			}
			continue
		}
		kvs = append(kvs, kv)
	}
	for k, v := range e.Set {
		if _, ok := f.Lookup(k); !ok && v != nil {
			kvs = append(kvs, gguf.KV{Key: k, Value: gguf.MustValueOf(v)})
		}
	}
	var ts []gguf.WriterTensor
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if slices.Contains(e.Drop, ti.Name) {
			continue
		}
		ts = append(ts, gguf.WriterTensor{Name: ti.Name, Dims: ti.Dims, Type: ti.Type, Data: f.TensorData(ti)})
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, f.Version, kvs, ts, f.Alignment); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Build loads f's architecture and builds its graph for a two-token step.
func Build(t testing.TB, f *gguf.File) (models.Model, *graph.Graph) {
	t.Helper()
	m, err := models.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := models.BuildGraph(m, f, models.Shape{Tokens: 2, Ctx: 8})
	if err != nil {
		t.Fatal(err)
	}
	return m, g
}

// HasNodes reports the first of names the graph lacks, or "".
func HasNodes(g *graph.Graph, names ...string) string {
	for _, n := range names {
		if g.Lookup(n) == nil {
			return n
		}
	}
	return ""
}
