package metal

import (
	"fmt"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
	_ "github.com/kiln-ml/kiln/models/llama"
	"github.com/kiln-ml/kiln/ops/kvquant"
	krt "github.com/kiln-ml/kiln/runtime"
	"github.com/kiln-ml/kiln/runtime/gpu"
	"github.com/kiln-ml/kiln/tests/testshared"
)

// event is one call the fake recorded.
type event struct {
	op      string // begin, pipeline, buffer, bytes, dispatch, barrier, commit, wait
	kernel  string
	index   int
	buf     Buffer
	off     int64
	v       uint32
	groups  [2]int
	threads int
}

// fakeDevice records what the runtime asks of a GPU and runs nothing:
// buffers are Go memory, so that the runtime's CPU-side writes land.
type fakeDevice struct {
	mu     sync.Mutex // Free runs from State cleanups on other goroutines
	bufs   map[Buffer][]byte
	next   Buffer
	events []event
	open   bool
}

func newFake() *fakeDevice { return &fakeDevice{bufs: map[Buffer][]byte{}, next: 1} }

func (f *fakeDevice) Name() string { return "fake" }

func (f *fakeDevice) NewBuffer(size int64) (Buffer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.next
	f.next++
	f.bufs[b] = make([]byte, size)
	return b, nil
}

func (f *fakeDevice) Contents(b Buffer) unsafe.Pointer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return unsafe.Pointer(&f.bufs[b][0])
}

func (f *fakeDevice) Free(b Buffer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.bufs, b)
}

func (f *fakeDevice) Begin() (Encoder, error) {
	if f.open {
		return nil, fmt.Errorf("fake: a command buffer is already open")
	}
	f.open = true
	f.events = append(f.events, event{op: "begin"})
	return f, nil
}

func (f *fakeDevice) Commit() error {
	f.events = append(f.events, event{op: "commit"})
	return nil
}

func (f *fakeDevice) Wait() error {
	f.open = false
	f.events = append(f.events, event{op: "wait"})
	return nil
}

func (f *fakeDevice) SetPipeline(k string) {
	f.events = append(f.events, event{op: "pipeline", kernel: k})
}
func (f *fakeDevice) SetBuffer(i int, b Buffer, off int64) {
	f.events = append(f.events, event{op: "buffer", index: i, buf: b, off: off})
}
func (f *fakeDevice) SetBytes(i int, v uint32) {
	f.events = append(f.events, event{op: "bytes", index: i, v: v})
}
func (f *fakeDevice) Dispatch(g [2]int, t int) {
	f.events = append(f.events, event{op: "dispatch", groups: g, threads: t})
}
func (f *fakeDevice) Barrier() { f.events = append(f.events, event{op: "barrier"}) }

// sharedPrograms lowers the decode and two prefill shape classes of every
// shared llama model.
func sharedPrograms(t *testing.T) map[string][]*lower.Program {
	dir := testshared.Dir(t)
	out := map[string][]*lower.Program{}
	for _, pat := range []string{"*.gguf", "synth/*.gguf", "zoo/*.gguf"} {
		ms, _ := filepath.Glob(filepath.Join(dir, "models", pat))
		for _, m := range ms {
			f, err := gguf.Open(m)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			arch, err := models.Load(f)
			if err != nil || arch.Hyper().Arch != "llama" {
				continue
			}
			shapes := []models.Shape{{Tokens: 1, Ctx: 512}, {Tokens: 16, Ctx: 512}, {Tokens: 256, Ctx: 512}}
			if kvquant.Turbo4.Check(arch.Hyper().HeadDim, false) == nil {
				// Packed caches: turbo keys (a center write at T > 1), q8_0 values.
				for _, T := range []int{1, 16} {
					shapes = append(shapes, models.Shape{Tokens: T, Ctx: 512, KType: kvquant.Turbo4, VType: kvquant.Q8_0})
				}
			}
			for _, sh := range shapes {
				g, err := models.BuildGraph(arch, f, sh)
				if err != nil {
					t.Fatal(err)
				}
				p, err := lower.Compile(g, lower.Options{})
				if err != nil {
					t.Fatal(err)
				}
				rel, _ := filepath.Rel(dir, m)
				out[rel] = append(out[rel], p)
			}
		}
	}
	if len(out) == 0 {
		t.Skip("no shared llama models")
	}
	return out
}

// TestEncodingOnSharedModels steps every shared llama model's programs on
// the recording fake and checks the encoding: per token one command buffer
// (begin), one commit and one wait; every dispatch binds the plan's kernel,
// buffers and scalars; every read-after-write, write-after-read and
// write-after-write hazard between two dispatches has a barrier between
// them; every barrier is needed (some hazard spans no other barrier); and
// the barriers number exactly the dependent boundaries between consecutive
// phases (a level, or a step's second dispatch).
func TestEncodingOnSharedModels(t *testing.T) {
	dir := testshared.Dir(t)
	for model, progs := range sharedPrograms(t) {
		f, err := gguf.Open(filepath.Join(dir, model))
		if err != nil {
			t.Fatal(err)
		}
		fake := newFake()
		rt := NewRuntime(fake)
		for _, p := range progs {
			name := fmt.Sprintf("%s/%s", model, p.Name)
			ke, err := rt.Load(p, models.Params{F: f})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			e := ke.(*Executable)
			st := e.NewState()
			ids := make([]int32, e.T)
			for step := 0; step < 2; step++ {
				fake.events = fake.events[:0]
				if err := e.Step(st, krt.Inputs{Tokens: ids, Pos: step * e.T}); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkEncoding(t, name, e, fake.events)
			}
			t.Logf("%s: %d dispatches, %d barriers, %d levels", name, len(e.plan.Launches), e.Barriers, p.Levels)
		}
		rt.Close()
		f.Close()
	}
}

func checkEncoding(t *testing.T, name string, e *Executable, evs []event) {
	t.Helper()
	count := map[string]int{}
	for _, ev := range evs {
		count[ev.op]++
	}
	if count["begin"] != 1 || count["commit"] != 1 || count["wait"] != 1 {
		t.Errorf("%s: %d command buffers, %d commits, %d waits per token, want 1 each", name, count["begin"], count["commit"], count["wait"])
	}
	if evs[0].op != "begin" || evs[len(evs)-2].op != "commit" || evs[len(evs)-1].op != "wait" {
		t.Errorf("%s: token does not run begin … commit, wait", name)
	}
	ls := e.plan.Launches
	if count["dispatch"] != len(ls) {
		t.Fatalf("%s: %d dispatches for %d launches", name, count["dispatch"], len(ls))
	}
	// Walk the events: check each dispatch's bindings, and note after
	// which dispatch each barrier sits.
	var barrierAfter []int // barrier b sits between dispatch barrierAfter[b] and the next
	li := 0
	bound := map[int]event{}
	kernel := ""
	for _, ev := range evs {
		switch ev.op {
		case "barrier":
			barrierAfter = append(barrierAfter, li-1)
		case "pipeline":
			kernel = ev.kernel
		case "buffer", "bytes":
			bound[ev.index] = ev
		case "dispatch":
			l := &ls[li]
			if kernel != l.Kernel || ev.groups != l.Grid || ev.threads != l.Block {
				t.Errorf("%s: dispatch %d runs %s %v×%d, plan has %s %v×%d", name, li, kernel, ev.groups, ev.threads, l.Kernel, l.Grid, l.Block)
			}
			for ai, a := range l.Args {
				got, ok := bound[ai]
				switch {
				case !ok:
					t.Errorf("%s: dispatch %d (%s) argument %d unbound", name, li, l.Kernel, ai)
				case a.Kind == gpu.ArgBuffer && (got.op != "buffer" || got.buf != e.binds[a.Buf].buf || got.off != e.binds[a.Buf].off+a.Off):
					t.Errorf("%s: dispatch %d (%s) argument %d bound to %v, want buffer %d", name, li, l.Kernel, ai, got, a.Buf)
				case a.Kind == gpu.ArgScratch && (got.op != "buffer" || got.buf != e.scratch):
					t.Errorf("%s: dispatch %d (%s) argument %d is not the scratch buffer", name, li, l.Kernel, ai)
				case a.Kind == gpu.ArgInt && (got.op != "bytes" || got.v != uint32(a.I)):
					t.Errorf("%s: dispatch %d (%s) argument %d = %v, want %d", name, li, l.Kernel, ai, got, a.I)
				}
			}
			li++
		}
	}
	// barriersBetween counts the barriers between dispatch i and a later j.
	barriersBetween := func(i, j int) int {
		n := 0
		for _, b := range barrierAfter {
			if b >= i && b < j {
				n++
			}
		}
		return n
	}
	needed := make([]bool, len(barrierAfter))
	for j := range ls {
		for i := 0; i < j; i++ {
			if !Conflicts(&ls[j], ls[i].Reads, ls[i].Writes) {
				continue
			}
			switch barriersBetween(i, j) {
			case 0:
				t.Errorf("%s: dispatch %d (%s) depends on dispatch %d (%s) with no barrier between", name, j, ls[j].Kernel, i, ls[i].Kernel)
			case 1:
				for b, at := range barrierAfter {
					if at >= i && at < j {
						needed[b] = true
					}
				}
			}
		}
	}
	for b, ok := range needed {
		if !ok {
			t.Errorf("%s: barrier %d (after dispatch %d) covers no hazard that another barrier does not", name, b, barrierAfter[b])
		}
	}
	// Dependent phase boundaries: a phase is a run of launches of one
	// level; a step's second launch starts a new phase.
	var phases [][]int
	for i := range ls {
		if i == 0 || ls[i].Level != ls[i-1].Level || ls[i].Step == ls[i-1].Step {
			phases = append(phases, nil)
		}
		phases[len(phases)-1] = append(phases[len(phases)-1], i)
	}
	dependent := 0
	for k := 1; k < len(phases); k++ {
		dep := false
		for _, j := range phases[k] {
			for _, i := range phases[k-1] {
				dep = dep || Conflicts(&ls[j], ls[i].Reads, ls[i].Writes)
			}
		}
		if dep {
			dependent++
		}
	}
	if len(barrierAfter) != dependent || e.Barriers != dependent {
		t.Errorf("%s: %d barriers (counted %d), %d dependent phase boundaries", name, len(barrierAfter), e.Barriers, dependent)
	}
}

// TestBarriersWithinLevel checks the tracker on a level whose steps are
// independent: no barrier between them, one before the next level that reads them.
func TestBarriersWithinLevel(t *testing.T) {
	progs := sharedPrograms(t)
	for model, ps := range progs {
		p := ps[0]
		pl, err := gpu.Build(p)
		if err != nil {
			t.Fatal(err)
		}
		// Find a level with several launches (Q, K and V matmuls).
		for li := 1; li < len(pl.Launches); li++ {
			a, b := &pl.Launches[li-1], &pl.Launches[li]
			if a.Level == b.Level && a.Step != b.Step && Conflicts(b, a.Reads, a.Writes) {
				t.Errorf("%s: launches %d and %d of level %d conflict", model, li-1, li, a.Level)
			}
		}
		break
	}
}

// TestStateFreedWhenCollected checks that a dropped State's caches go back
// to the device once it is collected, and that Close frees the rest.
func TestStateFreedWhenCollected(t *testing.T) {
	dir := testshared.Dir(t)
	f, err := gguf.Open(filepath.Join(dir, "models", "stories260K-q8_0.gguf"))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	arch, err := models.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := models.BuildGraph(arch, f, models.Shape{Tokens: 1, Ctx: 64})
	if err != nil {
		t.Fatal(err)
	}
	p, err := lower.Compile(g, lower.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fake := newFake()
	rt := NewRuntime(fake)
	e, err := rt.Load(p, models.Params{F: f})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		return len(fake.bufs)
	}
	base := count()
	keep := e.NewState()
	withOne := count()
	for i := 0; i < 5; i++ {
		e.NewState()
	}
	for i := 0; i < 50 && count() > withOne; i++ {
		goruntime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(); n != withOne {
		t.Errorf("%d buffers after dropping 5 states, want %d (the kept state's)", n, withOne)
	}
	if withOne <= base {
		t.Fatalf("a state allocated no buffers")
	}
	goruntime.KeepAlive(keep)
	rt.Close()
	if n := count(); n != 0 {
		t.Errorf("%d buffers left after Close", n)
	}
}
