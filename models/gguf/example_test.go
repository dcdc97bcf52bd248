package gguf_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/ops/quant"
)

func Example() {
	dir, err := os.MkdirTemp("", "gguf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.gguf")

	// Write a small model file: metadata and one 4x2 F32 tensor.
	out, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.MustValueOf("llama")},
		{Key: "llama.block_count", Value: gguf.MustValueOf(uint32(6))},
		{Key: "tokenizer.ggml.tokens", Value: gguf.MustValueOf([]string{"<s>", "</s>", "hello"})},
	}
	tensors := []gguf.WriterTensor{
		{Name: "token_embd.weight", Dims: []uint64{4, 2}, Type: quant.F32, Data: make([]byte, 4*2*4)},
	}
	if err := gguf.Write(out, 3, kvs, tensors, 0); err != nil {
		log.Fatal(err)
	}
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}

	// Map it back and read it.
	f, err := gguf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	arch, _ := f.Lookup("general.architecture")
	fmt.Println("architecture:", arch.V)
	layers, err := f.Uint("llama.block_count")
	fmt.Println("layers:", layers, err)
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	fmt.Println("tokens:", len(toks), toks[2])
	_, err = f.Float("llama.rope.freq_base")
	fmt.Println(err)
	t, _ := f.Tensor("token_embd.weight")
	fmt.Println(t.Name, t.Type, t.Dims, len(f.TensorData(t)), "bytes")
	// Output:
	// architecture: llama
	// layers: 6 <nil>
	// tokens: 3 hello
	// gguf: key "llama.rope.freq_base": missing key
	// token_embd.weight f32 [4 2] 32 bytes
}

func ExampleFile_Describe() {
	// Parse works on bytes in memory, e.g. a file embedded in a test.
	var buf bytes.Buffer
	err := gguf.Write(&buf, 3, []gguf.KV{
		{Key: "general.architecture", Value: gguf.MustValueOf("llama")},
		{Key: "tokenizer.ggml.scores", Value: gguf.MustValueOf([]float32{0, -1, -2, -3, -4})},
	}, []gguf.WriterTensor{
		{Name: "output_norm.weight", Dims: []uint64{8}, Type: quant.F32, Data: make([]byte, 32)},
	}, 0)
	if err != nil {
		log.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := f.Describe(os.Stdout, 3); err != nil {
		log.Fatal(err)
	}
	// Output:
	// GGUF v3: 2 metadata keys, 1 tensors, alignment 32, data at offset 192, 224 bytes
	//
	// metadata:
	//   general.architecture   string      "llama"
	//   tokenizer.ggml.scores  [5]float32  [0, -1, -2, ... 2 more]
	//
	// tensors:
	//   name                type  dims  bytes  offset
	//   output_norm.weight  f32   8        32       0
	//   total 32 bytes in 1 tensors
}
