// Package cpu runs lowered Programs on the CPU with a pool of persistent
// worker goroutines. Buffers are bound once at load; a step allocates nothing.
package cpu

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
	krt "github.com/kiln-ml/kiln/runtime"
)

// Runtime owns the worker pool shared by every Executable it loads.
type Runtime struct {
	mu      sync.Mutex // one Step at a time per pool
	pool    *pool
	threads int
}

// New starts a runtime with the given number of threads (the caller counts as one).
func New(threads int) *Runtime {
	threads = max(threads, 1)
	return &Runtime{pool: newPool(threads), threads: threads}
}

// Threads returns the worker count.
func (r *Runtime) Threads() int { return r.threads }

// Close stops the workers.
func (r *Runtime) Close() { r.pool.close() }

// view is a buffer seen in the representations kernels need.
type view struct {
	f   []float32
	b   []byte
	i   []int32
	typ quant.Type
}

// Executable is a Program bound to weights and an arena.
type Executable struct {
	rt      *Runtime
	prog    *lower.Program
	arena   []float32
	views   []view
	levels  [][]task
	scratch [][]float32 // per worker
	qrow    [][]byte    // per worker: one quantized activation row
	tokens  []int32
	pos     []int32
	tokID   int
	posID   int
	ctx     int
	vocab   int // rows of the embedding table the tokens index
}

// State is the CPU form of krt.State: KV caches by name, packed formats
// held as bytes in word buffers (ops.StateWords).
type State struct {
	bufs map[string][]float32
	size int64
}

// Reset zeroes the caches.
func (s *State) Reset() {
	for _, b := range s.bufs {
		clear(b)
	}
}

// Bytes is the memory held.
func (s *State) Bytes() int64 { return s.size }

// Load binds a Program to weights. Weight bytes are used in place (no copy).
func (r *Runtime) Load(p *lower.Program, w krt.Weights) (*Executable, error) {
	e := &Executable{rt: r, prog: p, tokID: -1, posID: -1}
	e.arena = make([]float32, (p.ArenaSize+3)/4+16)
	arenaBytes := unsafe.Slice((*byte)(unsafe.Pointer(&e.arena[0])), len(e.arena)*4)
	e.views = make([]view, len(p.Buffers))
	for i := range p.Buffers {
		b := &p.Buffers[i]
		v := &e.views[i]
		v.typ = b.Type.DType
		switch b.Space {
		case lower.Arena:
			v.b = arenaBytes[b.Offset : b.Offset+b.Size]
			if b.Type.DType == quant.F32 {
				v.f = e.arena[b.Offset/4 : (b.Offset+b.Size)/4]
			}
		case lower.Weight:
			data, err := krt.WeightData(w, b)
			if err != nil {
				return nil, fmt.Errorf("cpu: load %s: %w", p.Name, err)
			}
			v.b = data
			if b.Type.DType == quant.F32 {
				f, err := f32View(data)
				if err != nil {
					return nil, fmt.Errorf("cpu: load %s: weight %q: %w", p.Name, b.Name, err)
				}
				v.f = f
			}
		case lower.InputSpace:
			if b.Type.DType != quant.I32 {
				return nil, fmt.Errorf("cpu: load %s: input %q must be i32, is %s", p.Name, b.Name, b.Type)
			}
			v.i = make([]int32, b.Type.Elems())
			switch b.Name {
			case "tokens":
				e.tokID, e.tokens = i, v.i
			case "pos":
				e.posID, e.pos = i, v.i
			default:
				return nil, fmt.Errorf("cpu: load %s: unknown input %q", p.Name, b.Name)
			}
		case lower.StateSpace:
			switch b.Type.DType {
			case quant.F32, quant.F16, quant.Q8_0, quant.Q4_0, quant.I8: // f32 and packed KV caches
			default:
				return nil, fmt.Errorf("cpu: load %s: state %q: type %s not supported", p.Name, b.Name, b.Type.DType)
			}
			if e.ctx == 0 || b.Type.Shape[0] < e.ctx { // turbo key caches have center rows after the keys
				e.ctx = b.Type.Shape[0]
			}
		}
	}
	if e.tokID < 0 || e.posID < 0 {
		return nil, fmt.Errorf("cpu: load %s: program lacks the tokens or pos input", p.Name)
	}
	n := r.threads
	maxRow := 0
	for _, b := range p.Buffers {
		maxRow = max(maxRow, b.Type.Cols())
	}
	for _, s := range p.Steps {
		if s.Op == ops.OpAttention {
			maxRow = max(maxRow, ops.AttentionScratch(e.ctx, s.Attrs.HeadDim))
		}
		if s.Op == ops.OpRopeKVWrite { // cos/sin, the rotated row, two heads of packing scratch
			maxRow = max(maxRow, s.Attrs.RopeDims+p.Buffers[s.In[1]].Type.Cols()+2*s.Attrs.HeadDim)
		}
		if s.Op == ops.OpKVWrite { // two heads of packing scratch, the center
			maxRow = max(maxRow, 2*s.Attrs.HeadDim+p.Buffers[s.In[1]].Type.Cols())
		}
	}
	for i := 0; i < n; i++ {
		e.scratch = append(e.scratch, make([]float32, max(e.ctx, maxRow)+64))
		e.qrow = append(e.qrow, make([]byte, 4*maxRow+64))
	}
	e.levels = make([][]task, p.Levels)
	for si := range p.Steps {
		s := &p.Steps[si]
		t, err := e.makeTask(s)
		if err != nil {
			return nil, fmt.Errorf("cpu: load %s: step %q (%s): %w", p.Name, s.Name, s.Kernel, err)
		}
		e.levels[s.Level] = append(e.levels[s.Level], t)
	}
	return e, nil
}

// Program returns the loaded program.
func (e *Executable) Program() *lower.Program { return e.prog }

// NewState allocates zeroed caches for every state buffer of the program.
func (e *Executable) NewState() krt.State {
	s := &State{bufs: map[string][]float32{}}
	for _, b := range e.prog.Buffers {
		if b.Space == lower.StateSpace {
			s.bufs[b.Name] = make([]float32, ops.StateWords(b.Type))
			s.size += b.Size
		}
	}
	return s
}

// Step runs the program once.
func (e *Executable) Step(st krt.State, in krt.Inputs) error {
	s, ok := st.(*State)
	if !ok {
		return fmt.Errorf("cpu: step %s: state of another backend (%T)", e.prog.Name, st)
	}
	if err := krt.CheckInputs(in, len(e.tokens), e.ctx, e.vocab); err != nil {
		return fmt.Errorf("cpu: step %s: %w", e.prog.Name, err)
	}
	for i := range e.prog.Buffers {
		b := &e.prog.Buffers[i]
		if b.Space == lower.StateSpace {
			buf, ok := s.bufs[b.Name]
			if !ok || int64(len(buf)) != ops.StateWords(b.Type) {
				return fmt.Errorf("cpu: step %s: state lacks %q or has another shape", e.prog.Name, b.Name)
			}
			if b.Type.DType == quant.F32 {
				e.views[i].f = buf
			} else {
				e.views[i].b = ops.WordBytes(buf)[:b.Size]
			}
		}
	}
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	copy(e.tokens, in.Tokens)
	e.pos[0] = int32(in.Pos)
	for _, lv := range e.levels {
		e.rt.pool.run(lv)
	}
	return nil
}

// Output returns output i of the last step.
func (e *Executable) Output(i int) []float32 { return e.views[e.prog.Outputs[i]].f }

// Close releases nothing yet; weights belong to the caller.
func (e *Executable) Close() error { return nil }

func f32View(b []byte) ([]float32, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		return nil, fmt.Errorf("f32 data is not 4-byte aligned")
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), nil
}
