package cuda

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
	krt "github.com/kiln-ml/kiln/runtime"
	"github.com/kiln-ml/kiln/runtime/gpu"
)

// Runtime owns the device context, the compiled kernel module, the stream
// and the uploaded weights shared by every Executable it loads.
type Runtime struct {
	mu      sync.Mutex // one step (or load) at a time
	mode    SyncMode
	ctx     uintptr
	stream  uintptr
	funcs   map[string]uintptr
	weights map[weightKey]upload
	name    string
	allocs  []uint64
	// states holds the live state buffers, freed when their State is
	// collected or the runtime closes.
	states map[uint64]bool
}

type weightKey struct {
	name string
	data uintptr
	size int
}

// upload is a weight on the device; host keeps the source alive so that
// its address cannot be reused by other data while the key names it.
type upload struct {
	dev  uint64
	host []byte
}

// New opens device 0, compiles the kernel library for it and creates the stream.
func New(mode SyncMode) (*Runtime, error) {
	if err := load(); err != nil {
		return nil, err
	}
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	var dev int32
	if r := cuDeviceGet(&dev, 0); r != 0 {
		return nil, cuErr("cuDeviceGet", r)
	}
	rt := &Runtime{mode: mode, funcs: map[string]uintptr{}, weights: map[weightKey]upload{}, states: map[uint64]bool{}}
	if r := cuDevicePrimaryCtxRetain(&rt.ctx, dev); r != 0 {
		return nil, cuErr("cuDevicePrimaryCtxRetain", r)
	}
	if r := cuCtxSetCurrent(rt.ctx); r != 0 {
		return nil, cuErr("cuCtxSetCurrent", r)
	}
	name := make([]byte, 256)
	cuDeviceGetName(&name[0], int32(len(name)), dev)
	rt.name = strings.TrimRight(string(name), "\x00")
	var major, minor int32
	cuDeviceGetAttribute(&major, 75, dev) // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	cuDeviceGetAttribute(&minor, 76, dev)
	bin, err := cubin(int(major), int(minor))
	if err != nil {
		return nil, err
	}
	var mod uintptr
	if r := cuModuleLoadData(&mod, unsafe.Pointer(&bin[0])); r != 0 {
		return nil, cuErr("cuModuleLoadData", r)
	}
	for _, k := range gpu.Kernels {
		var f uintptr
		if r := cuModuleGetFunction(&f, mod, k.Name); r != 0 {
			return nil, cuErr("cuModuleGetFunction "+k.Name, r)
		}
		rt.funcs[k.Name] = f
	}
	if r := cuStreamCreate(&rt.stream, 1); r != 0 { // CU_STREAM_NON_BLOCKING
		return nil, cuErr("cuStreamCreate", r)
	}
	return rt, nil
}

var (
	cubinMu    sync.Mutex
	cubinCache = map[string][]byte{}
)

// cubin compiles the kernel library once per process, architecture and source.
func cubin(major, minor int) ([]byte, error) {
	cubinMu.Lock()
	defer cubinMu.Unlock()
	src := gpu.Render(gpu.CUDA)
	key := fmt.Sprintf("sm_%d%d\x00%s", major, minor, src)
	if b, ok := cubinCache[key]; ok {
		return b, nil
	}
	b, err := compile(src, major, minor)
	if err != nil {
		return nil, err
	}
	cubinCache[key] = b
	return b, nil
}

// Device names the GPU.
func (r *Runtime) Device() string { return r.name }

// Mode is the runtime's sync mode.
func (r *Runtime) Mode() SyncMode { return r.mode }

// enter pins the calling goroutine to its thread and makes the context
// current there; the returned function undoes the pin.
func (r *Runtime) enter() func() {
	goruntime.LockOSThread()
	sc(hot.ctxSetCurrent, r.ctx)
	return goruntime.UnlockOSThread
}

// Close frees the device memory the runtime allocated.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.enter()()
	for _, p := range r.allocs {
		cuMemFree(p)
	}
	for p := range r.states {
		cuMemFree(p)
	}
	r.allocs = nil
	r.states = map[uint64]bool{}
	r.weights = map[weightKey]upload{}
	return nil
}

func (r *Runtime) alloc(n int64) (uint64, error) {
	var p uint64
	if res := cuMemAlloc(&p, uint64(max(n, 256))); res != 0 {
		return 0, cuErr(fmt.Sprintf("cuMemAlloc(%d bytes)", n), res)
	}
	r.allocs = append(r.allocs, p)
	return p, nil
}

func hostAlloc(n int64) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	if res := cuMemAllocHost(&p, uint64(max(n, 64))); res != 0 {
		return nil, cuErr("cuMemAllocHost", res)
	}
	return p, nil
}

// Executable is a Program bound to device memory, with its launches
// prepared (and, in graph mode, captured).
type Executable struct {
	rt     *Runtime
	prog   *lower.Program
	plan   *gpu.Plan
	ptrs   []uint64 // device address of every buffer (state buffers: of the bound state)
	launch []prepared
	arena  uint64
	params uint64         // device: token ids, then pos
	host   unsafe.Pointer // pinned: token ids, then pos, then the outputs
	hostIn []int32
	outs   []output
	T      int
	ctx    int
	vocab  int
	bound  *State
	gexec  uintptr
	// HostTime is how long the last Step spent on the host before it
	// waited for the device: checks, the copies' and launches' API calls.
	HostTime time.Duration
}

type output struct {
	buf  int // buffer ID (a state buffer's address changes with the state)
	host []float32
}

// prepared is a launch with its argument block built: slots hold the
// values, ptrs the addresses cuLaunchKernel reads them through.
type prepared struct {
	fn    uintptr
	grid  [2]uint32
	block uint32
	slots []uint64
	ptrs  []unsafe.Pointer
	state []int // slot index -> buffer ID, for arguments that are state buffers
	name  string
}

// State is the device form of krt.State: KV caches by name.
type State struct {
	rt    *Runtime
	bufs  map[string]uint64
	sizes map[string]int64
	size  int64
}

// Reset zeroes the caches.
func (s *State) Reset() {
	s.rt.mu.Lock()
	defer s.rt.mu.Unlock()
	defer s.rt.enter()()
	for name, p := range s.bufs {
		cuMemsetD8(p, 0, uint64(s.sizes[name]))
	}
}

// Bytes is the device memory held.
func (s *State) Bytes() int64 { return s.size }

// Load uploads the Program's weights (once per runtime) and prepares its launches.
func (r *Runtime) Load(p *lower.Program, w krt.Weights) (krt.Executable, error) {
	plan, err := gpu.Build(p)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.enter()()
	e := &Executable{rt: r, prog: p, plan: plan, ptrs: make([]uint64, len(p.Buffers))}
	if e.arena, err = r.alloc(p.ArenaSize + plan.ScratchBytes + 256); err != nil {
		return nil, err
	}
	scratch := e.arena + uint64((p.ArenaSize+255)&^255)
	tokID, posID, T, err := krt.InputBuffers(p)
	if err != nil {
		return nil, fmt.Errorf("cuda: load %s: %w", p.Name, err)
	}
	e.T = T
	for i := range p.Buffers {
		b := &p.Buffers[i]
		switch b.Space {
		case lower.Arena:
			e.ptrs[i] = e.arena + uint64(b.Offset)
		case lower.Weight:
			data, err := krt.WeightData(w, b)
			if err != nil {
				return nil, fmt.Errorf("cuda: load %s: %w", p.Name, err)
			}
			key := weightKey{b.Name, uintptr(unsafe.Pointer(unsafe.SliceData(data))), len(data)}
			u, ok := r.weights[key]
			if !ok {
				if u.dev, err = r.alloc(b.Size); err != nil {
					return nil, err
				}
				if len(data) > 0 {
					if res := cuMemcpyHtoD(u.dev, unsafe.Pointer(&data[0]), uint64(len(data))); res != 0 {
						return nil, cuErr("upload "+b.Name, res)
					}
				}
				u.host = data
				r.weights[key] = u
			}
			e.ptrs[i] = u.dev
		case lower.StateSpace:
			// Packed caches are bytes; positions are bounded by the
			// shortest state (a turbo key cache has its center rows after
			// the keys).
			if e.ctx == 0 || b.Type.Shape[0] < e.ctx {
				e.ctx = b.Type.Shape[0]
			}
		}
	}
	// The parameter block: token ids then the position, one copy per step.
	if e.params, err = r.alloc(int64(4 * (e.T + 1))); err != nil {
		return nil, err
	}
	e.ptrs[tokID] = e.params
	e.ptrs[posID] = e.params + uint64(4*e.T)
	outBytes := int64(0)
	for _, id := range p.Outputs {
		outBytes += p.Buffers[id].Size
	}
	inBytes := int64(4*(e.T+1)+63) &^ 63
	if e.host, err = hostAlloc(inBytes + outBytes); err != nil {
		return nil, err
	}
	e.hostIn = unsafe.Slice((*int32)(e.host), e.T+1)
	off := inBytes
	for _, id := range p.Outputs {
		b := &p.Buffers[id]
		if b.Type.DType != quant.F32 {
			return nil, fmt.Errorf("cuda: load %s: output %q is %s, want f32", p.Name, b.Name, b.Type.DType)
		}
		e.outs = append(e.outs, output{buf: id, host: unsafe.Slice((*float32)(unsafe.Add(e.host, off)), b.Type.Elems())})
		off += b.Size
	}
	for _, s := range p.Steps {
		if s.Op == ops.OpGetRows && s.In[1] == tokID {
			if n := p.Buffers[s.In[0]].Type.Shape[0]; e.vocab == 0 || n < e.vocab {
				e.vocab = n
			}
		}
	}
	for _, l := range plan.Launches {
		pr := prepared{fn: r.funcs[l.Kernel], grid: [2]uint32{uint32(l.Grid[0]), uint32(l.Grid[1])}, block: uint32(l.Block), name: l.Kernel}
		pr.slots = make([]uint64, len(l.Args))
		pr.ptrs = make([]unsafe.Pointer, len(l.Args))
		for i, a := range l.Args {
			switch a.Kind {
			case gpu.ArgBuffer:
				pr.slots[i] = e.ptrs[a.Buf] + uint64(a.Off)
				if p.Buffers[a.Buf].Space == lower.StateSpace {
					pr.state = append(pr.state, i, a.Buf)
				}
			case gpu.ArgScratch:
				pr.slots[i] = scratch
			case gpu.ArgInt:
				pr.slots[i] = uint64(uint32(a.I))
			case gpu.ArgFloat:
				pr.slots[i] = uint64(*(*uint32)(unsafe.Pointer(&a.F)))
			}
			pr.ptrs[i] = unsafe.Pointer(&pr.slots[i])
		}
		e.launch = append(e.launch, pr)
	}
	return e, nil
}

// Program returns the loaded program.
func (e *Executable) Program() *lower.Program { return e.prog }

// NewState allocates zeroed device caches for every state buffer.
func (e *Executable) NewState() krt.State {
	r := e.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.enter()()
	s := &State{rt: r, bufs: map[string]uint64{}, sizes: map[string]int64{}}
	var ptrs []uint64
	for _, b := range e.prog.Buffers {
		if b.Space != lower.StateSpace {
			continue
		}
		var d uint64
		if res := cuMemAlloc(&d, uint64(max(b.Size, 256))); res != 0 {
			// NewState has no error result; a failed allocation leaves the
			// buffer out, and Step reports it.
			continue
		}
		r.states[d] = true
		ptrs = append(ptrs, d)
		cuMemsetD8(d, 0, uint64(b.Size))
		s.bufs[b.Name], s.sizes[b.Name] = d, b.Size
		s.size += b.Size
	}
	// A conversation's caches go back to the device when its State is
	// collected (unless the runtime closed first and freed them).
	goruntime.AddCleanup(s, func(ptrs []uint64) { r.freeState(ptrs) }, ptrs)
	return s
}

func (r *Runtime) freeState(ptrs []uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.enter()()
	for _, p := range ptrs {
		if r.states[p] {
			cuMemFree(p)
			delete(r.states, p)
		}
	}
}

// bind points the state arguments of every launch at s's caches and, in
// graph mode, captures the graph for them.
func (e *Executable) bind(s *State) error {
	for i := range e.prog.Buffers {
		b := &e.prog.Buffers[i]
		if b.Space == lower.StateSpace {
			d, ok := s.bufs[b.Name]
			if !ok || s.sizes[b.Name] != b.Size {
				return fmt.Errorf("cuda: step %s: state lacks %q or has another shape", e.prog.Name, b.Name)
			}
			e.ptrs[i] = d
		}
	}
	for li := range e.launch {
		pr := &e.launch[li]
		for k := 0; k < len(pr.state); k += 2 {
			pr.slots[pr.state[k]] = e.ptrs[pr.state[k+1]]
		}
	}
	if e.gexec != 0 {
		cuGraphExecDestroy(e.gexec)
		e.gexec = 0
	}
	e.bound = s
	if e.rt.mode != Graph {
		return nil
	}
	if r := cuStreamBeginCapture(e.rt.stream, 2); r != 0 { // CU_STREAM_CAPTURE_MODE_RELAXED
		return cuErr("cuStreamBeginCapture", r)
	}
	lerr := e.launchAll(false)
	var g uintptr
	if r := cuStreamEndCapture(e.rt.stream, &g); r != 0 {
		return cuErr("cuStreamEndCapture", r)
	}
	if lerr != nil {
		cuGraphDestroy(g)
		return lerr
	}
	defer cuGraphDestroy(g)
	if r := cuGraphInstantiateWithFlags(&e.gexec, g, 0); r != 0 {
		return cuErr("cuGraphInstantiate", r)
	}
	return nil
}

func (e *Executable) launchAll(syncEach bool) error {
	st := e.rt.stream
	for i := range e.launch {
		pr := &e.launch[i]
		if r := sc(hot.launchKernel, pr.fn, uintptr(pr.grid[0]), uintptr(pr.grid[1]), 1, uintptr(pr.block), 1, 1, 0, st, uintptr(unsafe.Pointer(&pr.ptrs[0])), 0); r != 0 {
			return cuErr("launch "+pr.name, r)
		}
		if syncEach {
			if r := sc(hot.streamSynchronize, st); r != 0 {
				return cuErr("sync after "+pr.name, r)
			}
		}
	}
	return nil
}

// Step runs the program once: one parameter copy, the kernels (one graph
// launch in graph mode), the output copies, one synchronization.
func (e *Executable) Step(st krt.State, in krt.Inputs) error {
	s, ok := st.(*State)
	if !ok {
		return fmt.Errorf("cuda: step %s: state of another backend (%T)", e.prog.Name, st)
	}
	if err := krt.CheckInputs(in, e.T, e.ctx, e.vocab); err != nil {
		return fmt.Errorf("cuda: step %s: %w", e.prog.Name, err)
	}
	start := time.Now()
	r := e.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.enter()()
	if e.bound != s {
		if err := e.bind(s); err != nil {
			return err
		}
	}
	copy(e.hostIn, in.Tokens)
	e.hostIn[e.T] = int32(in.Pos)
	if res := sc(hot.memcpyHtoDAsync, uintptr(e.params), uintptr(e.host), uintptr(4*(e.T+1)), r.stream); res != 0 {
		return cuErr("copy params", res)
	}
	switch r.mode {
	case Graph:
		if res := sc(hot.graphLaunch, e.gexec, r.stream); res != 0 {
			return cuErr("cuGraphLaunch", res)
		}
	default:
		if err := e.launchAll(r.mode == PerOp); err != nil {
			return err
		}
	}
	for _, o := range e.outs {
		if res := sc(hot.memcpyDtoHAsync, uintptr(unsafe.Pointer(unsafe.SliceData(o.host))), uintptr(e.ptrs[o.buf]), uintptr(4*len(o.host)), r.stream); res != 0 {
			return cuErr("copy output", res)
		}
	}
	e.HostTime = time.Since(start)
	if res := sc(hot.streamSynchronize, r.stream); res != 0 {
		return cuErr("cuStreamSynchronize", res)
	}
	return nil
}

// Output returns output i of the last step (pinned host memory).
func (e *Executable) Output(i int) []float32 { return e.outs[i].host }

// Close releases the captured graph; device memory belongs to the runtime.
func (e *Executable) Close() error {
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	defer e.rt.enter()()
	if e.gexec != 0 {
		cuGraphExecDestroy(e.gexec)
		e.gexec = 0
	}
	return nil
}

// KernelTime is the device time one kernel of the table took in a profiled step.
type KernelTime struct {
	Kernel   string
	Launches int
	Time     time.Duration
}

// Profile runs one step kernel by kernel with device timestamps between
// launches and returns the time of each kernel, summed by kernel name and
// grid, in order of first launch. The outputs and state change as in Step.
func (e *Executable) Profile(st krt.State, in krt.Inputs) ([]KernelTime, error) {
	s, ok := st.(*State)
	if !ok {
		return nil, fmt.Errorf("cuda: profile %s: state of another backend (%T)", e.prog.Name, st)
	}
	if len(in.Tokens) != e.T || in.Pos < 0 || in.Pos+e.T > e.ctx {
		return nil, fmt.Errorf("cuda: profile %s: bad inputs", e.prog.Name)
	}
	r := e.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.enter()()
	if e.bound != s {
		if err := e.bind(s); err != nil {
			return nil, err
		}
	}
	copy(e.hostIn, in.Tokens)
	e.hostIn[e.T] = int32(in.Pos)
	cuMemcpyHtoDAsync(e.params, e.host, uint64(4*(e.T+1)), r.stream)
	evs := make([]uintptr, len(e.launch)+1)
	for i := range evs {
		if res := cuEventCreate(&evs[i], 0); res != 0 {
			return nil, cuErr("cuEventCreate", res)
		}
	}
	cuEventRecord(evs[0], r.stream)
	for i := range e.launch {
		pr := &e.launch[i]
		if res := cuLaunchKernel(pr.fn, pr.grid[0], pr.grid[1], 1, pr.block, 1, 1, 0, r.stream, unsafe.Pointer(&pr.ptrs[0]), nil); res != 0 {
			return nil, cuErr("launch "+pr.name, res)
		}
		cuEventRecord(evs[i+1], r.stream)
	}
	if res := cuEventSynchronize(evs[len(evs)-1]); res != 0 {
		return nil, cuErr("cuEventSynchronize", res)
	}
	var out []KernelTime
	idx := map[string]int{}
	for i := range e.launch {
		var ms float32
		cuEventElapsedTime(&ms, evs[i], evs[i+1])
		name := fmt.Sprintf("%s[%dx%d]", e.launch[i].name, e.launch[i].grid[0], e.launch[i].grid[1])
		k, ok := idx[name]
		if !ok {
			k = len(out)
			idx[name] = k
			out = append(out, KernelTime{Kernel: name})
		}
		out[k].Launches++
		out[k].Time += time.Duration(float64(ms) * 1e6)
	}
	return out, nil
}
