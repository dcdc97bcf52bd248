// Package synth writes random-weight GGUF files at the shapes of real
// models, so that benchmarks need no downloads. The files carry complete
// llama (or qwen2) metadata and a byte-level BPE vocabulary of the right size (with one
// merge), so llama.cpp loads them too.
package synth

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/ops/quant"
)

// Shape is a model's geometry.
type Shape struct {
	Name     string
	Arch     string // general.architecture: "llama" (also when empty) or "qwen2" (adds Q/K/V biases)
	Dim      int
	Layers   int
	Heads    int
	KVHeads  int
	FFN      int
	Vocab    int
	Ctx      int
	RopeBase float32
	Tied     bool
}

// Shapes are the architectures synth knows, by name.
var Shapes = map[string]Shape{
	"smollm2-135m":   {Name: "smollm2-135m", Dim: 576, Layers: 30, Heads: 9, KVHeads: 3, FFN: 1536, Vocab: 49152, Ctx: 8192, RopeBase: 100000, Tied: true},
	"llama-3.2-1b":   {Name: "llama-3.2-1b", Dim: 2048, Layers: 16, Heads: 32, KVHeads: 8, FFN: 8192, Vocab: 128256, Ctx: 131072, RopeBase: 500000, Tied: true},
	"llama-3.2-3b":   {Name: "llama-3.2-3b", Dim: 3072, Layers: 28, Heads: 24, KVHeads: 8, FFN: 8192, Vocab: 128256, Ctx: 131072, RopeBase: 500000, Tied: true},
	"tinyllama-1.1b": {Name: "tinyllama-1.1b", Dim: 2048, Layers: 22, Heads: 32, KVHeads: 4, FFN: 5632, Vocab: 32000, Ctx: 2048, RopeBase: 10000},
	"qwen2.5-0.5b":   {Name: "qwen2.5-0.5b", Arch: "qwen2", Dim: 896, Layers: 24, Heads: 14, KVHeads: 2, FFN: 4864, Vocab: 151936, Ctx: 32768, RopeBase: 1000000, Tied: true},
}

// arch returns the shape's general.architecture.
func (s Shape) arch() string {
	if s.Arch == "" {
		return "llama"
	}
	return s.Arch
}

// ShapeNames lists the known shapes.
func ShapeNames() []string {
	var n []string
	for k := range Shapes {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Mixes are the weight-type choices synth can write, by llama.cpp's ftype name.
var Mixes = []string{"f16", "q8_0", "q4_0", "q4_k_m"}

// tensorType picks a tensor's format the way llama-quantize does for the
// mix: Q4_K_M keeps attn_v and ffn_down of some layers and the output at
// Q6_K; k-quants fall back (Q4_K→Q5_0, Q6_K→Q8_0) for rows that are not a
// multiple of 256.
func tensorType(mix, name string, layer, layers, rowLen int) (quant.Type, error) {
	var t quant.Type
	switch mix {
	case "f16":
		return quant.F16, nil
	case "q8_0":
		return quant.Q8_0, nil
	case "q4_0":
		t = quant.Q4_0
		if name == "token_embd.weight" {
			t = quant.Q6_K // llama-quantize keeps the (tied) output matrix at Q6_K
		}
	case "q4_k_m":
		t = quant.Q4_K
		moreBits := layer < layers/8 || layer >= 7*layers/8 || (layer-layers/8)%3 == 2
		if name == "token_embd.weight" || name == "output.weight" ||
			((strings.HasSuffix(name, "attn_v.weight") || strings.HasSuffix(name, "ffn_down.weight")) && moreBits) {
			t = quant.Q6_K
		}
	default:
		return 0, fmt.Errorf("synth: unknown type %q (have %s)", mix, strings.Join(Mixes, ", "))
	}
	if rowLen%quant.QK_K != 0 {
		switch t {
		case quant.Q4_K:
			t = quant.Q5_0
		case quant.Q6_K:
			t = quant.Q8_0
		}
	}
	if rowLen%t.BlockSize() != 0 {
		t = quant.F16
	}
	return t, nil
}

type spec struct {
	name   string
	rows   int
	cols   int
	layer  int
	isNorm bool
	isBias bool
}

// Write generates the model and writes it as GGUF v3. Weights are N(0, 0.02),
// norms 1+N(0, 0.05), seeded by seed, so a shape, mix and seed give the same file.
func Write(w io.Writer, s Shape, mix string, seed uint64) error {
	if s.Dim%s.Heads != 0 || s.Heads%s.KVHeads != 0 {
		return fmt.Errorf("synth: shape %s: inconsistent heads", s.Name)
	}
	hd := s.Dim / s.Heads
	kv := s.KVHeads * hd
	specs := []spec{{name: "token_embd.weight", rows: s.Vocab, cols: s.Dim, layer: -1}}
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		specs = append(specs,
			spec{name: p + "attn_norm.weight", rows: 1, cols: s.Dim, layer: l, isNorm: true},
			spec{name: p + "attn_q.weight", rows: s.Dim, cols: s.Dim, layer: l},
			spec{name: p + "attn_k.weight", rows: kv, cols: s.Dim, layer: l},
			spec{name: p + "attn_v.weight", rows: kv, cols: s.Dim, layer: l},
			spec{name: p + "attn_output.weight", rows: s.Dim, cols: s.Dim, layer: l},
			spec{name: p + "ffn_norm.weight", rows: 1, cols: s.Dim, layer: l, isNorm: true},
			spec{name: p + "ffn_gate.weight", rows: s.FFN, cols: s.Dim, layer: l},
			spec{name: p + "ffn_up.weight", rows: s.FFN, cols: s.Dim, layer: l},
			spec{name: p + "ffn_down.weight", rows: s.Dim, cols: s.FFN, layer: l},
		)
		if s.arch() == "qwen2" {
			specs = append(specs,
				spec{name: p + "attn_q.bias", rows: 1, cols: s.Dim, layer: l, isBias: true},
				spec{name: p + "attn_k.bias", rows: 1, cols: kv, layer: l, isBias: true},
				spec{name: p + "attn_v.bias", rows: 1, cols: kv, layer: l, isBias: true})
		}
	}
	specs = append(specs, spec{name: "output_norm.weight", rows: 1, cols: s.Dim, layer: -1, isNorm: true})
	if !s.Tied {
		specs = append(specs, spec{name: "output.weight", rows: s.Vocab, cols: s.Dim, layer: -1})
	}
	tensors := make([]gguf.WriterTensor, len(specs))
	errs := make([]error, len(specs))
	// Tensors are independent: generate them on every core.
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				tensors[i], errs[i] = makeTensor(specs[i], mix, s.Layers, seed+uint64(i)*0x9e3779b97f4a7c15)
			}
		}()
	}
	for i := range specs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return gguf.Write(w, 3, metadata(s, mix), tensors, 0)
}

func makeTensor(sp spec, mix string, layers int, seed uint64) (gguf.WriterTensor, error) {
	r := rand.New(rand.NewPCG(seed, seed^0xda3e39cb94b95bdb))
	dims := []uint64{uint64(sp.cols)}
	if !sp.isNorm && !sp.isBias {
		dims = append(dims, uint64(sp.rows))
	}
	if sp.isNorm || sp.isBias {
		row := make([]float32, sp.cols)
		for i := range row {
			if sp.isNorm {
				row[i] = 1 + float32(r.NormFloat64())*0.05
			} else {
				row[i] = float32(r.NormFloat64()) * 0.02
			}
		}
		data := make([]byte, 4*sp.cols)
		if err := quant.Quantize(quant.F32, row, data); err != nil {
			return gguf.WriterTensor{}, err
		}
		return gguf.WriterTensor{Name: sp.name, Dims: dims, Type: quant.F32, Data: data}, nil
	}
	t, err := tensorType(mix, sp.name, sp.layer, layers, sp.cols)
	if err != nil {
		return gguf.WriterTensor{}, err
	}
	rb, err := t.RowBytes(sp.cols)
	if err != nil {
		return gguf.WriterTensor{}, fmt.Errorf("synth: %s: %w", sp.name, err)
	}
	data := make([]byte, rb*sp.rows)
	row := make([]float32, sp.cols)
	for j := 0; j < sp.rows; j++ {
		for i := range row {
			row[i] = float32(r.NormFloat64()) * 0.02
		}
		if err := quant.Quantize(t, row, data[j*rb:(j+1)*rb]); err != nil {
			return gguf.WriterTensor{}, fmt.Errorf("synth: %s: %w", sp.name, err)
		}
	}
	return gguf.WriterTensor{Name: sp.name, Dims: dims, Type: t, Data: data}, nil
}

// ftype is llama.cpp's general.file_type for the mix.
var ftype = map[string]uint32{"f16": 1, "q4_0": 2, "q8_0": 7, "q4_k_m": 15}

func metadata(s Shape, mix string) []gguf.KV {
	kv := func(k string, v any) gguf.KV { return gguf.KV{Key: k, Value: gguf.MustValueOf(v)} }
	tokens, types := vocab(s.Vocab)
	a := s.arch()
	eps, pre := float32(1e-5), "gpt-2"
	if a == "qwen2" {
		eps, pre = 1e-6, "qwen2"
	}
	return []gguf.KV{
		kv("general.architecture", a),
		kv("general.name", fmt.Sprintf("synth-%s-%s", s.Name, mix)),
		kv("general.description", "kiln synth: random weights N(0,0.02), norms 1+N(0,0.05)"),
		kv("general.file_type", ftype[mix]),
		kv("general.quantization_version", uint32(2)),
		kv(a+".context_length", uint32(s.Ctx)),
		kv(a+".embedding_length", uint32(s.Dim)),
		kv(a+".block_count", uint32(s.Layers)),
		kv(a+".feed_forward_length", uint32(s.FFN)),
		kv(a+".attention.head_count", uint32(s.Heads)),
		kv(a+".attention.head_count_kv", uint32(s.KVHeads)),
		kv(a+".rope.freq_base", s.RopeBase),
		kv(a+".rope.dimension_count", uint32(s.Dim/s.Heads)),
		kv(a+".attention.layer_norm_rms_epsilon", eps),
		kv(a+".vocab_size", uint32(s.Vocab)),
		kv("tokenizer.ggml.model", "gpt2"),
		kv("tokenizer.ggml.pre", pre),
		kv("tokenizer.ggml.tokens", tokens),
		kv("tokenizer.ggml.token_type", types),
		kv("tokenizer.ggml.merges", []string{"Ġ t"}),
		kv("tokenizer.ggml.bos_token_id", uint32(s.Vocab-1)),
		kv("tokenizer.ggml.eos_token_id", uint32(s.Vocab-1)),
		kv("tokenizer.ggml.add_bos_token", true),
	}
}

// vocab returns n byte-level BPE tokens: the 256 byte symbols, "Ġt" (the
// one merge's result), filler pieces, and <|endoftext|> as the last id.
func vocab(n int) ([]string, []int32) {
	tokens := make([]string, 0, n)
	types := make([]int32, 0, n)
	for b := 0; b < 256; b++ {
		tokens = append(tokens, byteSymbol(byte(b)))
		types = append(types, 1)
	}
	tokens = append(tokens, "Ġt")
	types = append(types, 1)
	for i := len(tokens); i < n-1; i++ {
		tokens = append(tokens, fmt.Sprintf("<synth%d>", i))
		types = append(types, 4) // user-defined: never produced by merges
	}
	tokens = append(tokens, "<|endoftext|>")
	types = append(types, 3)
	return tokens, types
}

// byteSymbol is GPT-2's printable stand-in for a byte.
func byteSymbol(b byte) string {
	if (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || b >= 0xae {
		return string(rune(b))
	}
	// The other bytes map to U+0100 upwards in order.
	n := 0
	for c := 0; c < int(b); c++ {
		cb := byte(c)
		if !((cb >= '!' && cb <= '~') || (cb >= 0xa1 && cb <= 0xac) || cb >= 0xae) {
			n++
		}
	}
	return string(rune(256 + n))
}
