// Package models turns GGUF files into graphs: a registry of architectures
// by name, the shape classes a graph is built for, and adapters that expose
// a file's tensors to the graph builder and to runtimes.
package models

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
)

// Shape is a shape class: everything that fixes a graph's topology. What
// changes per token (the position) is an input, never part of the Shape.
type Shape struct {
	Tokens    int  // tokens per step: 1 for decode, the chunk size for prefill
	Ctx       int  // KV cache length
	AllLogits bool // output logits for every token, not just the last
	// KType and VType are the KV cache formats (zero: f32).
	KType, VType kvquant.Type
}

// KVCache declares layer il's key and value caches in s's formats
// (state tensors cache_k_lN, cache_v_lN) and returns them with the kv_write
// attributes for each: kv_write(cache, rows, pos) with rows of nKVHead
// heads of headDim. Attention over them takes s.AttentionKV(il, ...).
func (s Shape) KVCache(b *graph.Builder, il, nKVHead, headDim int) (k, v *graph.Node, kw, vw ops.Attrs) {
	n := strconv.Itoa(il)
	k = b.State("cache_k_l"+n, ops.KVCacheType(s.KType, s.Ctx, nKVHead, headDim))
	v = b.State("cache_v_l"+n, ops.KVCacheType(s.VType, s.Ctx, nKVHead, headDim))
	kw = ops.Attrs{Cache: s.KType, Layer: il, NHead: nKVHead, HeadDim: headDim}
	vw = ops.Attrs{Cache: s.VType, Layer: il, NHead: nKVHead, HeadDim: headDim}
	return k, v, kw, vw
}

// AttentionKV sets the cache formats of layer il's attention attributes.
func (s Shape) AttentionKV(a ops.Attrs, il int) ops.Attrs {
	a.KType, a.VType, a.Layer = s.KType, s.VType, il
	return a
}

// Hyper are the hyperparameters every decoder-only architecture shares.
type Hyper struct {
	Arch      string
	Name      string
	NVocab    int
	NCtxTrain int
	NEmbd     int
	NLayer    int
	NHead     int
	NKVHead   int
	HeadDim   int
	NFF       int
}

// Model is an architecture bound to one file's configuration.
type Model interface {
	Hyper() Hyper
	// Build emits the graph for a shape class. Inputs are "tokens" (i32[T])
	// and "pos" (i32[1]); the output is logits f32[T or 1, NVocab].
	Build(b *graph.Builder, s Shape) error
}

// Describer is implemented by models that can list their architecture's
// particular structure (sliding-window layers, soft-caps, fused tensors),
// one line per feature, for kiln inspect and kiln graph.
type Describer interface {
	Describe() []string
}

// Summary describes m in lines: its shape, then what its Describe lists.
func Summary(m Model) []string {
	h := m.Hyper()
	lines := []string{fmt.Sprintf("%s: %d layers, n_embd %d, %d heads × %d (%d KV heads), ffn %d, vocab %d, context %d",
		h.Arch, h.NLayer, h.NEmbd, h.NHead, h.HeadDim, h.NKVHead, h.NFF, h.NVocab, h.NCtxTrain)}
	if d, ok := m.(Describer); ok {
		lines = append(lines, d.Describe()...)
	}
	return lines
}

// Loader reads and validates an architecture's configuration from a file.
type Loader func(f *gguf.File) (Model, error)

var (
	mu     sync.RWMutex
	arches = map[string]Loader{}
)

// Register makes an architecture available under its general.architecture name.
func Register(name string, l Loader) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := arches[name]; dup {
		panic("models: architecture " + name + " registered twice")
	}
	arches[name] = l
}

// Architectures lists the registered names.
func Architectures() []string {
	mu.RLock()
	defer mu.RUnlock()
	var n []string
	for k := range arches {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// ErrUnknownArch is returned for a general.architecture no loader handles.
var ErrUnknownArch = errors.New("unknown architecture")

// Load picks the architecture named by the file and reads its configuration.
func Load(f *gguf.File) (Model, error) {
	arch, err := f.String("general.architecture")
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	mu.RLock()
	l, ok := arches[arch]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("model: %w %q (known: %s)", ErrUnknownArch, arch, strings.Join(Architectures(), ", "))
	}
	m, err := l(f)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", arch, err)
	}
	return m, nil
}

// Params exposes a file's tensors to graph.Builder. Besides the file's own
// names it resolves RowSlice names to views of a tensor's rows.
type Params struct{ F *gguf.File }

// ParamType returns a tensor's kiln type (dims reversed into row-major order).
func (p Params) ParamType(name string) (ops.TensorType, bool) {
	t, ok := p.F.Tensor(name)
	if ok {
		return TensorType(t), true
	}
	if base, lo, hi, ok := p.slice(name); ok {
		tt := TensorType(base)
		tt.Shape[0] = hi - lo
		return tt, true
	}
	return ops.TensorType{}, false
}

// TensorData returns a tensor's bytes (for runtimes).
func (p Params) TensorData(name string) ([]byte, bool) {
	t, ok := p.F.Tensor(name)
	if ok {
		return p.F.TensorData(t), true
	}
	if base, lo, hi, ok := p.slice(name); ok {
		data := p.F.TensorData(base)
		rb := len(data) / int(base.Dims[1])
		return data[lo*rb : hi*rb], true
	}
	return nil, false
}

// RowSlice names rows [start, end) of a 2-D weight, "attn_qkv.weight[0:256]".
// Params resolves it to a view of the tensor's bytes (no copy): how an
// architecture splits a fused weight (phi3's attn_qkv) into the matrices it
// multiplies by. Every row is a whole number of quantization blocks, so any
// row range is a valid tensor of the same format.
func RowSlice(name string, start, end int) string {
	return name + "[" + strconv.Itoa(start) + ":" + strconv.Itoa(end) + "]"
}

// slice resolves a RowSlice name against the file: the tensor and a valid row range.
func (p Params) slice(name string) (t *gguf.TensorInfo, lo, hi int, ok bool) {
	i := strings.LastIndexByte(name, '[')
	if i < 0 || !strings.HasSuffix(name, "]") {
		return nil, 0, 0, false
	}
	a, b, found := strings.Cut(name[i+1:len(name)-1], ":")
	if !found {
		return nil, 0, 0, false
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	t, ok = p.F.Tensor(name[:i])
	if !ok || err1 != nil || err2 != nil || len(t.Dims) != 2 || lo < 0 || lo >= hi || uint64(hi) > t.Dims[1] {
		return nil, 0, 0, false
	}
	return t, lo, hi, true
}

// TensorType converts a GGUF tensor header to a kiln type.
func TensorType(t *gguf.TensorInfo) ops.TensorType {
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[len(t.Dims)-1-i] = int(d)
	}
	return ops.TensorType{Shape: shape, DType: t.Type}
}

// BuildGraph builds m's graph for shape s.
func BuildGraph(m Model, f *gguf.File, s Shape) (*graph.Graph, error) {
	h := m.Hyper()
	name := fmt.Sprintf("%s.t%d", h.Arch, s.Tokens)
	b := graph.NewBuilder(name, Params{F: f})
	if err := m.Build(b, s); err != nil {
		return nil, err
	}
	return b.Finish()
}

// Config reads typed keys under an architecture prefix and remembers the
// first error, so a loader reads every key and reports one clear problem.
type Config struct {
	F    *gguf.File
	Arch string
	Err  error
}

func (c *Config) key(k string) string { return c.Arch + "." + k }

func (c *Config) fail(err error) {
	if c.Err == nil {
		c.Err = err
	}
}

// Int reads a required positive integer key (prefixed with the architecture).
func (c *Config) Int(k string) int {
	v, err := c.F.Uint(c.key(k))
	if err != nil {
		c.fail(err)
		return 0
	}
	if v == 0 || v > 1<<31 {
		c.fail(fmt.Errorf("key %q: value %d out of range", c.key(k), v))
		return 0
	}
	return int(v)
}

// IntOr reads an optional integer key.
func (c *Config) IntOr(k string, def int) int {
	if _, ok := c.F.Lookup(c.key(k)); !ok {
		return def
	}
	return c.Int(k)
}

// Float reads a required float key.
func (c *Config) Float(k string) float32 {
	v, err := c.F.Float(c.key(k))
	if err != nil {
		c.fail(err)
	}
	return float32(v)
}

// FloatOr reads an optional float key.
func (c *Config) FloatOr(k string, def float32) float32 {
	if _, ok := c.F.Lookup(c.key(k)); !ok {
		return def
	}
	return c.Float(k)
}

// StringOr reads an optional string key.
func (c *Config) StringOr(k string, def string) string {
	if _, ok := c.F.Lookup(c.key(k)); !ok {
		return def
	}
	v, err := c.F.String(c.key(k))
	if err != nil {
		c.fail(err)
	}
	return v
}

// Check records an inconsistency naming the key involved.
func (c *Config) Check(ok bool, k string, format string, args ...any) {
	if !ok {
		c.fail(fmt.Errorf("key %q: %s", c.key(k), fmt.Sprintf(format, args...)))
	}
}

// VocabSize finds the vocabulary size: {arch}.vocab_size, else the token list, else the embedding rows.
func (c *Config) VocabSize() int {
	if _, ok := c.F.Lookup(c.key("vocab_size")); ok {
		return c.Int("vocab_size")
	}
	if toks, err := c.F.Strings("tokenizer.ggml.tokens"); err == nil {
		return len(toks)
	}
	if t, ok := c.F.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 {
		return int(t.Dims[1])
	}
	c.fail(fmt.Errorf("key %q: missing, and no tokenizer.ggml.tokens or token_embd.weight to infer it", c.key("vocab_size")))
	return 0
}
