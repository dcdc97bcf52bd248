package gguf

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

func FuzzParse(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 10))
	small := []WriterTensor{
		{"a", []uint64{2}, quant.F32, make([]byte, 8)},
		{"b", []uint64{32, 1}, quant.Q8_0, make([]byte, 34)},
	}
	seeds := [][]byte{
		build(f, 3, nil, nil, 0),
		build(f, 2, []KV{{"general.architecture", MustValueOf("llama")}, {"n", MustValueOf(uint32(6))}}, small, 0),
		build(f, 3, []KV{{"s", MustValueOf([]string{"a", "bc"})}, {"x", MustValueOf([]Value{MustValueOf([]int8{1})})}}, small, 8),
		build(f, 3, allKVs(), someTensors(r), 64),
	}
	for _, s := range seeds {
		f.Add(s)
		for _, n := range []int{len(s) / 4, len(s) / 2, len(s) - 1} {
			f.Add(s[:n])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses is safe to use: data in bounds, getters and
		// Describe total.
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			if d := g.TensorData(ti); int64(len(d)) != ti.Size {
				t.Fatalf("tensor %q: %d bytes of data, want %d", ti.Name, len(d), ti.Size)
			}
		}
		for _, kv := range g.KVs {
			g.String(kv.Key)
			g.Uint(kv.Key)
			g.Int(kv.Key)
			g.Float(kv.Key)
			g.Bool(kv.Key)
			g.Strings(kv.Key)
			g.Float32s(kv.Key)
			g.Int32s(kv.Key)
		}
		if err := g.Describe(io.Discard, 4); err != nil {
			t.Fatal(err)
		}
		// The writer accepts whatever the reader accepts, and writing is
		// stable: write(parse(write(x))) == write(x). Bytes are compared
		// rather than values so that NaNs compare equal.
		var w1, w2 bytes.Buffer
		if err := Write(&w1, g.Version, g.KVs, writerTensors(g), g.Alignment); err != nil {
			t.Fatalf("writing a parsed file: %v", err)
		}
		g2, err := Parse(w1.Bytes())
		if err != nil {
			t.Fatalf("parsing a rewritten file: %v", err)
		}
		if err := Write(&w2, g2.Version, g2.KVs, writerTensors(g2), g2.Alignment); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w1.Bytes(), w2.Bytes()) {
			t.Fatal("rewriting is not stable")
		}
	})
}
