// Package kiln loads GGUF models and runs them: build the architecture's
// graph, lower it once per shape class, and step it on a runtime.
//
// Load a model once; each Session is one sequence with its own KV cache, and
// sessions of one Model may run at once from their own goroutines:
//
//	m, err := kiln.Load("model.gguf", kiln.Options{})
//	s, err := m.NewSession()
//	for text, err := range s.GenerateText(ctx, "Once upon a time", kiln.GenerateOptions{MaxTokens: 64}) { ... }
//	logits, err := s.Eval(ids, false)
package kiln

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/models"
	_ "github.com/kiln-ml/kiln/models/all" // registers every architecture
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/models/tokenizer"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
	krt "github.com/kiln-ml/kiln/runtime"
	"github.com/kiln-ml/kiln/runtime/cpu"
)

// Options configure Load.
type Options struct {
	// Threads for the CPU runtime; 0 means every core.
	Threads int
	// Context is the KV cache length; 0 means the model's training context, capped at 4096.
	Context int
	// DisablePasses switches lowering passes off by name.
	DisablePasses []string
	// Backend runs the programs: "cpu" (or ""), "cuda", "metal", or "auto"
	// (a GPU backend that starts, else the CPU).
	Backend string
	// GPUSync is how a GPU backend submits a step: "graph" (or ""), "stream" or "per-op".
	GPUSync string
	// CacheTypeK and CacheTypeV are the KV cache formats: "f32", "f16",
	// "q8_0", "q4_0", and for keys also "turbo_kv_3b", "turbo_kv_4b",
	// "turbo_kv_5b". Empty means f16 on the CPU and f32 on a GPU backend
	// (which reads every format; see newModel for why f32).
	CacheTypeK, CacheTypeV string
}

// PrefillChunks are the prefill shape classes, largest first. A prompt is
// split greedily into these; each class is lowered once and reused.
var PrefillChunks = []int{256, 64, 16, 4, 1}

// Model is a loaded GGUF model. It is safe for concurrent use; each Session is not.
type Model struct {
	File *gguf.File
	Arch models.Model
	Tok  *tokenizer.Tokenizer
	Ctx  int
	opt  Options
	rt   *cpu.Runtime
	mu   sync.Mutex // guards exes
	exes map[models.Shape]krt.Executable
	// gpu, when set, loads the programs instead of rt (see backend.go).
	gpu gpuBackend
	// stepMu serializes steps: executables share one arena per shape class,
	// so a step and the copy of its outputs must not interleave with another.
	stepMu sync.Mutex
	close  sync.Once
	kt, vt kvquant.Type // KV cache formats
}

// cacheTypes parses the KV cache formats of opt (f16 where unset) and
// checks that they can hold the model's heads.
func cacheTypes(opt Options, headDim int) (k, v kvquant.Type, err error) {
	parse := func(s, what string, values bool) (kvquant.Type, error) {
		if s == "" {
			return kvquant.F16, nil
		}
		t, err := kvquant.Parse(s)
		if err == nil {
			err = t.Check(headDim, values)
		}
		if err != nil {
			return 0, fmt.Errorf("%s cache: %w", what, err)
		}
		return t, nil
	}
	if k, err = parse(opt.CacheTypeK, "key", false); err != nil {
		return 0, 0, err
	}
	v, err = parse(opt.CacheTypeV, "value", true)
	return k, v, err
}

// CacheTypes returns the KV cache formats of keys and values.
func (m *Model) CacheTypes() (k, v kvquant.Type) { return m.kt, m.vt }

// KVBytesPerToken is the cache memory one token takes, keys and values of every layer.
func (m *Model) KVBytesPerToken() (k, v int64) {
	e, err := m.executable(1, false)
	if err != nil {
		return 0, 0
	}
	for _, b := range e.Program().Buffers {
		if b.Space != lower.StateSpace || b.Type.Shape[0] == 0 {
			continue
		}
		if strings.HasPrefix(b.Name, "cache_v") {
			v += b.Size / int64(b.Type.Shape[0])
		} else {
			k += b.Size / int64(b.Type.Shape[0])
		}
	}
	return k, v
}

// Load opens a GGUF file, reads its architecture and tokenizer, and starts a CPU runtime.
func Load(path string, opt Options) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := newModel(f, opt)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return m, nil
}

func newModel(f *gguf.File, opt Options) (*Model, error) {
	arch, err := models.Load(f)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	h := arch.Hyper()
	if tok.VocabSize() != h.NVocab {
		return nil, fmt.Errorf("tokenizer has %d tokens, model vocabulary is %d", tok.VocabSize(), h.NVocab)
	}
	ctx := opt.Context
	if ctx == 0 {
		ctx = min(h.NCtxTrain, 4096)
	}
	if ctx < 1 || ctx > 1<<20 {
		return nil, fmt.Errorf("context length %d out of range [1, %d]", ctx, 1<<20)
	}
	kt, vt, err := cacheTypes(opt, h.HeadDim)
	if err != nil {
		return nil, err
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = goruntime.NumCPU()
	}
	m := &Model{File: f, Arch: arch, Tok: tok, Ctx: ctx, opt: opt, rt: cpu.New(threads), exes: map[models.Shape]krt.Executable{}, kt: kt, vt: vt}
	if m.gpu, err = openBackend(opt); err != nil {
		m.rt.Close()
		return nil, err
	}
	if m.gpu != nil {
		// The GPU's default cache is f32: its f16 attention follows the
		// CPU's to NMSE 1e-14 on equal inputs, but the GPU's float noise
		// through f16 rounding puts q8_0 models past the 1e-4 logits
		// parity bound with llama.cpp (TestCUDALogitsParity). Every
		// format can be asked for.
		if opt.CacheTypeK == "" {
			m.kt = kvquant.F32
		}
		if opt.CacheTypeV == "" {
			m.vt = kvquant.F32
		}
	}
	// Build and load the decode program now: every session needs it, and a
	// missing or misshapen weight or a bad pass name fails at load, naming
	// the tensor or pass, rather than at the first Eval.
	if _, err := m.executable(1, false); err != nil {
		m.rt.Close()
		if m.gpu != nil {
			m.gpu.Close()
		}
		return nil, err
	}
	return m, nil
}

// Close stops the runtime and unmaps the file. Sessions must not be used after.
func (m *Model) Close() error {
	var err error
	m.close.Do(func() {
		m.rt.Close()
		if m.gpu != nil {
			m.gpu.Close()
		}
		err = m.File.Close()
	})
	return err
}

// Hyper returns the model's hyperparameters.
func (m *Model) Hyper() models.Hyper { return m.Arch.Hyper() }

// WeightBytes is the size of all tensors in the file.
func (m *Model) WeightBytes() int64 {
	var n int64
	for _, t := range m.File.Tensors {
		n += t.Size
	}
	return n
}

// ParamCount is the number of weight elements.
func (m *Model) ParamCount() int64 {
	var n int64
	for _, t := range m.File.Tensors {
		n += t.NumElements()
	}
	return n
}

// WeightBytesPerToken is what one decode step reads from weights: every
// matrix once, plus one embedding row (the embedding table is read whole only
// when it is also the output matrix).
func (m *Model) WeightBytesPerToken() int64 {
	p, err := m.Compile(models.Shape{Tokens: 1, Ctx: m.Ctx, KType: m.kt, VType: m.vt}, lower.Options{})
	if err != nil {
		return m.WeightBytes()
	}
	var n int64
	for _, s := range p.Steps {
		for i, id := range s.In {
			b := p.Buffer(id)
			if b.Space != lower.Weight {
				continue
			}
			if s.Op == ops.OpGetRows && i == 0 {
				n += b.Size / int64(b.Type.Shape[0])
			} else {
				n += b.Size
			}
		}
	}
	return n
}

// Threads is the CPU runtime's worker count.
func (m *Model) Threads() int { return m.rt.Threads() }

// Graph builds the model's graph for a shape class (for dumps).
func (m *Model) Graph(s models.Shape) (*graph.Graph, error) {
	if s.Ctx == 0 {
		s.Ctx = m.Ctx
	}
	s.KType, s.VType = m.kt, m.vt // the model's cache formats
	return models.BuildGraph(m.Arch, m.File, s)
}

// Compile lowers the graph for s with the model's pass options plus extra.
func (m *Model) Compile(s models.Shape, extra lower.Options) (*lower.Program, error) {
	g, err := m.Graph(s)
	if err != nil {
		return nil, err
	}
	extra.Disable = append(append([]string(nil), m.opt.DisablePasses...), extra.Disable...)
	return lower.Compile(g, extra)
}

// executable returns the loaded program for a shape class, building it on first use.
func (m *Model) executable(tokens int, all bool) (krt.Executable, error) {
	s := models.Shape{Tokens: tokens, Ctx: m.Ctx, AllLogits: all && tokens > 1, KType: m.kt, VType: m.vt}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.exes[s]; ok {
		return e, nil
	}
	p, err := m.Compile(s, lower.Options{})
	if err != nil {
		return nil, err
	}
	var e krt.Executable
	if m.gpu != nil {
		e, err = m.gpu.Load(p, models.Params{F: m.File})
	} else {
		e, err = m.rt.Load(p, models.Params{F: m.File})
	}
	if err != nil {
		return nil, err
	}
	m.exes[s] = e
	return e, nil
}

// Session is one sequence: its own KV cache and position. Not safe for concurrent use.
type Session struct {
	m     *Model
	state krt.State
	pos   int
	// logits holds the rows Eval returns; reused to avoid per-call allocation.
	logits []float32
	// hist is the ids evaluated so far (capacity Ctx, so appends never allocate).
	hist []int32
	last GenerationStats
}

// NewSession starts an empty sequence.
func (m *Model) NewSession() (*Session, error) {
	e, err := m.executable(1, false)
	if err != nil {
		return nil, err
	}
	return &Session{m: m, state: e.NewState(), hist: make([]int32, 0, m.Ctx)}, nil
}

// Pos is the number of tokens evaluated so far.
func (s *Session) Pos() int { return s.pos }

// Reset empties the sequence.
func (s *Session) Reset() {
	s.state.Reset()
	s.pos = 0
	s.hist = s.hist[:0]
}

// KVBytes is the memory the KV cache holds.
func (s *Session) KVBytes() int64 { return s.state.Bytes() }

// Eval appends tokens to the sequence and returns logits: for every token
// (len(tokens) rows of NVocab) when all is set, else for the last one only.
// The slice is reused by the next call.
func (s *Session) Eval(tokens []int32, all bool) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("eval: no tokens")
	}
	if s.pos+len(tokens) > s.m.Ctx {
		return nil, fmt.Errorf("eval: %d tokens at position %d exceed the context length %d", len(tokens), s.pos, s.m.Ctx)
	}
	nv := s.m.Hyper().NVocab
	for i, id := range tokens {
		if id < 0 || int(id) >= nv {
			return nil, fmt.Errorf("eval: token %d: id %d out of range [0,%d)", i, id, nv)
		}
	}
	rows := 1
	if all {
		rows = len(tokens)
	}
	if cap(s.logits) < rows*nv {
		s.logits = make([]float32, rows*nv)
	}
	s.logits = s.logits[:rows*nv]
	done := 0
	for done < len(tokens) {
		n := chunkFor(len(tokens) - done)
		e, err := s.m.executable(n, all)
		if err != nil {
			return nil, err
		}
		s.m.stepMu.Lock()
		err = e.Step(s.state, krt.Inputs{Tokens: tokens[done : done+n], Pos: s.pos})
		if err == nil {
			out := e.Output(0)
			if all {
				copy(s.logits[done*nv:], out)
			} else if done+n == len(tokens) {
				copy(s.logits, out[len(out)-nv:])
			}
		}
		s.m.stepMu.Unlock()
		if err != nil {
			return nil, err
		}
		s.pos += n
		s.hist = append(s.hist, tokens[done:done+n]...)
		done += n
	}
	return s.logits, nil
}

func chunkFor(n int) int {
	for _, c := range PrefillChunks {
		if c <= n {
			return c
		}
	}
	return 1
}
