// Package metal runs lowered Programs on Apple GPUs: a library compiled at
// load from runtime/gpu's one kernel source (rendered as MSL), pipelines
// built once, weights in shared-storage buffers, and per token one command
// buffer holding one compute encoder of concurrent dispatch type, with a
// memory barrier only where a dispatch touches what an earlier one since the
// last barrier wrote (or writes what it read); one commit, one wait.
//
// The encoding goes through two narrow interfaces, Device and Encoder. On
// macOS they wrap Metal (device_darwin.go, purego/objc, no cgo); the tests
// drive the same code with a recording fake on any OS.
package metal

import (
	"fmt"
	"math"
	goruntime "runtime"
	"sync"
	"unsafe"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
	krt "github.com/kiln-ml/kiln/runtime"
	"github.com/kiln-ml/kiln/runtime/gpu"
)

// Buffer is a device buffer handle (an MTLBuffer on macOS).
type Buffer uintptr

// Device is what the runtime needs of a GPU.
type Device interface {
	Name() string
	// NewBuffer returns a zeroed buffer in storage the CPU shares.
	NewBuffer(size int64) (Buffer, error)
	// Contents is the CPU address of a buffer's storage.
	Contents(b Buffer) unsafe.Pointer
	// Free releases a buffer.
	Free(b Buffer)
	// Begin opens a token's command buffer and its one compute encoder of
	// concurrent dispatch type.
	Begin() (Encoder, error)
	// Commit ends the encoder and commits the command buffer.
	Commit() error
	// Wait blocks until the committed command buffer has run.
	Wait() error
}

// Encoder records one token's dispatches.
type Encoder interface {
	// SetPipeline selects a kernel of the library by name.
	SetPipeline(kernel string)
	// SetBuffer binds argument index to a buffer at a byte offset.
	SetBuffer(index int, b Buffer, offset int64)
	// SetBytes binds argument index to a 4-byte scalar (int32 or float32 bits).
	SetBytes(index int, v uint32)
	// Dispatch runs groups[0]×groups[1] threadgroups of threads threads.
	Dispatch(groups [2]int, threads int)
	// Barrier orders every dispatch after it behind every one before it
	// (memoryBarrierWithScope: buffers).
	Barrier()
}

// Runtime loads Programs onto one Device; weights are uploaded once.
type Runtime struct {
	mu      sync.Mutex
	dev     Device
	weights map[weightKey]upload
	bufs    []Buffer
	states  map[Buffer]bool // live state buffers (freed with their State)
}

type weightKey struct {
	name string
	data uintptr
	size int
}

type upload struct {
	buf  Buffer
	host []byte // kept so the key's address is not reused while cached
}

// NewRuntime starts a runtime on dev.
func NewRuntime(dev Device) *Runtime {
	return &Runtime{dev: dev, weights: map[weightKey]upload{}, states: map[Buffer]bool{}}
}

// Device names the GPU.
func (r *Runtime) Device() string { return r.dev.Name() }

// Close frees every buffer the runtime allocated.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bufs {
		r.dev.Free(b)
	}
	for b := range r.states {
		r.dev.Free(b)
	}
	r.bufs = nil
	r.states = map[Buffer]bool{}
	r.weights = map[weightKey]upload{}
	return nil
}

func (r *Runtime) alloc(n int64) (Buffer, error) {
	b, err := r.dev.NewBuffer(max(n, 16))
	if err != nil {
		return 0, err
	}
	r.bufs = append(r.bufs, b)
	return b, nil
}

// binding is where a buffer argument points.
type binding struct {
	buf Buffer
	off int64
}

// Executable is a Program bound to device buffers.
type Executable struct {
	rt      *Runtime
	prog    *lower.Program
	plan    *gpu.Plan
	binds   []binding // per buffer ID; state buffers are bound per step
	scratch Buffer
	params  []int32 // token ids then pos, in the shared params buffer
	T, ctx  int
	vocab   int
	pendR   []gpu.Region
	pendW   []gpu.Region
	// Barriers is the number of barriers the last Step encoded.
	Barriers int
}

// State is the device form of krt.State: KV caches by name.
type State struct {
	rt    *Runtime
	bufs  map[string]Buffer
	sizes map[string]int64
	size  int64
}

// Reset zeroes the caches (no GPU work is in flight between steps).
func (s *State) Reset() {
	for name, b := range s.bufs {
		clear(unsafe.Slice((*byte)(s.rt.dev.Contents(b)), s.sizes[name]))
	}
}

// Bytes is the memory held.
func (s *State) Bytes() int64 { return s.size }

// Load binds a Program to device buffers, uploading weights not yet uploaded.
func (r *Runtime) Load(p *lower.Program, w krt.Weights) (krt.Executable, error) {
	plan, err := gpu.Build(p)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := &Executable{rt: r, prog: p, plan: plan, binds: make([]binding, len(p.Buffers))}
	arena, err := r.alloc(p.ArenaSize)
	if err != nil {
		return nil, err
	}
	if e.scratch, err = r.alloc(plan.ScratchBytes); err != nil {
		return nil, err
	}
	tokID, posID, T, err := krt.InputBuffers(p)
	if err != nil {
		return nil, fmt.Errorf("metal: load %s: %w", p.Name, err)
	}
	e.T = T
	for i := range p.Buffers {
		b := &p.Buffers[i]
		switch b.Space {
		case lower.Arena:
			e.binds[i] = binding{arena, b.Offset}
		case lower.Weight:
			data, err := krt.WeightData(w, b)
			if err != nil {
				return nil, fmt.Errorf("metal: load %s: %w", p.Name, err)
			}
			key := weightKey{b.Name, uintptr(unsafe.Pointer(unsafe.SliceData(data))), len(data)}
			u, ok := r.weights[key]
			if !ok {
				if u.buf, err = r.alloc(b.Size); err != nil {
					return nil, err
				}
				copy(unsafe.Slice((*byte)(r.dev.Contents(u.buf)), len(data)), data)
				u.host = data
				r.weights[key] = u
			}
			e.binds[i] = binding{u.buf, 0}
		case lower.StateSpace:
			// Packed caches are bytes; positions are bounded by the
			// shortest state (a turbo key cache has its center rows after
			// the keys).
			if e.ctx == 0 || b.Type.Shape[0] < e.ctx {
				e.ctx = b.Type.Shape[0]
			}
		}
	}
	params, err := r.alloc(int64(4 * (e.T + 1)))
	if err != nil {
		return nil, err
	}
	e.params = unsafe.Slice((*int32)(r.dev.Contents(params)), e.T+1)
	e.binds[tokID] = binding{params, 0}
	e.binds[posID] = binding{params, int64(4 * e.T)}
	for _, id := range p.Outputs {
		if p.Buffers[id].Type.DType != quant.F32 {
			return nil, fmt.Errorf("metal: load %s: output %q is %s, want f32", p.Name, p.Buffers[id].Name, p.Buffers[id].Type.DType)
		}
	}
	for _, s := range p.Steps {
		if s.Op == ops.OpGetRows && s.In[1] == tokID {
			if n := p.Buffers[s.In[0]].Type.Shape[0]; e.vocab == 0 || n < e.vocab {
				e.vocab = n
			}
		}
	}
	return e, nil
}

// Program returns the loaded program.
func (e *Executable) Program() *lower.Program { return e.prog }

// NewState allocates zeroed caches for every state buffer.
func (e *Executable) NewState() krt.State {
	r := e.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &State{rt: r, bufs: map[string]Buffer{}, sizes: map[string]int64{}}
	var held []Buffer
	for _, b := range e.prog.Buffers {
		if b.Space != lower.StateSpace {
			continue
		}
		buf, err := r.dev.NewBuffer(max(b.Size, 16))
		if err != nil {
			continue // Step reports the missing buffer
		}
		r.states[buf] = true
		held = append(held, buf)
		s.bufs[b.Name], s.sizes[b.Name] = buf, b.Size
		s.size += b.Size
	}
	// The caches go back to the device when the State is collected
	// (unless the runtime closed first and freed them).
	goruntime.AddCleanup(s, func(held []Buffer) { r.freeState(held) }, held)
	return s
}

func (r *Runtime) freeState(held []Buffer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range held {
		if r.states[b] {
			r.dev.Free(b)
			delete(r.states, b)
		}
	}
}

// Step runs the program once: one command buffer, one encoder, barriers
// only at hazards, one commit, one wait.
func (e *Executable) Step(st krt.State, in krt.Inputs) error {
	s, ok := st.(*State)
	if !ok {
		return fmt.Errorf("metal: step %s: state of another backend (%T)", e.prog.Name, st)
	}
	if err := krt.CheckInputs(in, e.T, e.ctx, e.vocab); err != nil {
		return fmt.Errorf("metal: step %s: %w", e.prog.Name, err)
	}
	for i := range e.prog.Buffers {
		b := &e.prog.Buffers[i]
		if b.Space == lower.StateSpace {
			buf, ok := s.bufs[b.Name]
			if !ok || s.sizes[b.Name] != b.Size {
				return fmt.Errorf("metal: step %s: state lacks %q or has another shape", e.prog.Name, b.Name)
			}
			e.binds[i] = binding{buf, 0}
		}
	}
	r := e.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	copy(e.params, in.Tokens)
	e.params[e.T] = int32(in.Pos)
	enc, err := r.dev.Begin()
	if err != nil {
		return err
	}
	e.encode(enc)
	if err := r.dev.Commit(); err != nil {
		return err
	}
	return r.dev.Wait()
}

// encode records every launch of the plan, with a barrier before a launch
// that reads what a launch since the last barrier wrote, or writes what one
// read or wrote. Launches between barriers may run concurrently.
func (e *Executable) encode(enc Encoder) {
	e.pendR, e.pendW = e.pendR[:0], e.pendW[:0]
	e.Barriers = 0
	for li := range e.plan.Launches {
		l := &e.plan.Launches[li]
		if Conflicts(l, e.pendR, e.pendW) {
			enc.Barrier()
			e.Barriers++
			e.pendR, e.pendW = e.pendR[:0], e.pendW[:0]
		}
		enc.SetPipeline(l.Kernel)
		for ai, a := range l.Args {
			switch a.Kind {
			case gpu.ArgBuffer:
				b := e.binds[a.Buf]
				enc.SetBuffer(ai, b.buf, b.off+a.Off)
			case gpu.ArgScratch:
				enc.SetBuffer(ai, e.scratch, 0)
			case gpu.ArgInt:
				enc.SetBytes(ai, uint32(a.I))
			case gpu.ArgFloat:
				enc.SetBytes(ai, math.Float32bits(a.F))
			}
		}
		enc.Dispatch(l.Grid, l.Block)
		e.pendR = append(e.pendR, l.Reads...)
		e.pendW = append(e.pendW, l.Writes...)
	}
}

// Conflicts reports whether launch l must wait for launches that read
// reads and wrote writes: read-after-write, write-after-read and
// write-after-write hazards.
func Conflicts(l *gpu.Launch, reads, writes []gpu.Region) bool {
	for _, r := range l.Reads {
		for _, w := range writes {
			if r.Overlaps(w) {
				return true
			}
		}
	}
	for _, w := range l.Writes {
		for _, o := range writes {
			if w.Overlaps(o) {
				return true
			}
		}
		for _, o := range reads {
			if w.Overlaps(o) {
				return true
			}
		}
	}
	return false
}

// Output returns output i of the last step (the buffer's shared storage).
func (e *Executable) Output(i int) []float32 {
	id := e.prog.Outputs[i]
	b := e.binds[id]
	n := e.prog.Buffers[id].Type.Elems()
	return unsafe.Slice((*float32)(unsafe.Add(e.rt.dev.Contents(b.buf), b.off)), n)
}

// Close does nothing: buffers belong to the runtime.
func (e *Executable) Close() error { return nil }
