package cpu

import (
	"runtime"
	"sync/atomic"
)

// task is one step's work, split into chunks that any worker may take.
type task struct {
	chunks int
	run    func(chunk, worker int)
}

// pool is a set of persistent workers. The calling goroutine works too, so a
// pool of n uses n-1 goroutines. Work within a level is handed out through
// one atomic chunk counter; levels are separated by a spin-then-park barrier.
type pool struct {
	n       int
	gen     atomic.Uint64
	next    atomic.Int64
	pending atomic.Int32
	tasks   []task
	ends    []int // ends[i] is the first chunk after tasks[i]
	total   int
	quit    atomic.Bool
	workers []*worker
}

type worker struct {
	sleeping atomic.Int32
	wake     chan struct{}
}

// spinIters bounds the busy wait before a worker parks: long enough to ride
// over the gap between levels of one token, short enough not to burn a core
// between tokens.
const spinIters = 1 << 14

func newPool(n int) *pool {
	p := &pool{n: max(n, 1)}
	for i := 1; i < p.n; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.loop(w, i, p.gen.Load())
	}
	return p
}

// loop is a worker. seen is the generation at creation: reading it inside
// the goroutine instead would miss a level dispatched before it first ran.
func (p *pool) loop(w *worker, id int, seen uint64) {
	for {
		for i := 0; p.gen.Load() == seen; i++ {
			if i < spinIters {
				if i&255 == 255 {
					runtime.Gosched()
				}
				continue
			}
			w.sleeping.Store(1)
			if p.gen.Load() != seen {
				if !w.sleeping.CompareAndSwap(1, 0) {
					<-w.wake // the dispatcher saw us asleep and is sending
				}
				break
			}
			<-w.wake
			i = 0
		}
		seen = p.gen.Load()
		if p.quit.Load() {
			return
		}
		p.work(id)
		p.pending.Add(-1)
	}
}

// run executes tasks (one level) on all workers and returns when every chunk is done.
func (p *pool) run(tasks []task) {
	p.tasks = tasks
	p.ends = p.ends[:0]
	total := 0
	for _, t := range tasks {
		total += t.chunks
		p.ends = append(p.ends, total)
	}
	p.total = total
	if total == 0 {
		return
	}
	if p.n == 1 || total == 1 {
		p.next.Store(0)
		p.work(0)
		return
	}
	p.next.Store(0)
	p.pending.Store(int32(len(p.workers)))
	p.gen.Add(1)
	for _, w := range p.workers {
		if w.sleeping.CompareAndSwap(1, 0) {
			w.wake <- struct{}{}
		}
	}
	p.work(0)
	for i := 0; p.pending.Load() != 0; i++ {
		if i&63 == 63 {
			runtime.Gosched()
		}
	}
}

func (p *pool) work(id int) {
	ti := 0
	for {
		c := int(p.next.Add(1) - 1)
		if c >= p.total {
			return
		}
		for c >= p.ends[ti] {
			ti++
		}
		start := 0
		if ti > 0 {
			start = p.ends[ti-1]
		}
		p.tasks[ti].run(c-start, id)
	}
}

func (p *pool) close() {
	p.quit.Store(true)
	p.gen.Add(1)
	for _, w := range p.workers {
		if w.sleeping.CompareAndSwap(1, 0) {
			w.wake <- struct{}{}
		}
	}
}
