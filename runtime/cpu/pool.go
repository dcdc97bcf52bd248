package cpu

import (
	"runtime"
	"sync/atomic"
	"time"
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
	n int
	// gen is read in the workers' spin loop while next and pending take a
	// write per chunk: on separate cache lines, the spinning reader does not
	// steal the line from the core doing the work.
	gen     atomic.Uint64
	_       [56]byte
	next    atomic.Int64
	_       [56]byte
	pending atomic.Int32
	_       [60]byte
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

// spinTime bounds the busy wait before a worker parks: long enough to ride
// over the gaps between levels of one token and between tokens of a
// generation (sampling, detokenizing), short enough not to burn a core once
// the caller has gone idle. Parking and waking costs a futex round trip,
// several microseconds, at every level otherwise.
const spinTime = 500 * time.Microsecond

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
		var start time.Time
		for i := 0; p.gen.Load() == seen; i++ {
			if i&1023 == 0 {
				// Check the clock only now and then: it costs more than the load.
				if i == 0 {
					start = time.Now()
				} else if time.Since(start) < spinTime {
					runtime.Gosched()
				} else {
					i = -1 // park below
				}
			}
			if i >= 0 {
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
			i = -1 // restart the spin clock
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
