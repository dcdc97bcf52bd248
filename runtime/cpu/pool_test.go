package cpu

import (
	"sync/atomic"
	"testing"
)

// TestPoolRunsEveryChunk dispatches immediately after creating pools (the
// race that once lost a worker's first level) and checks every chunk runs once.
func TestPoolRunsEveryChunk(t *testing.T) {
	for iter := 0; iter < 200; iter++ {
		p := newPool(3)
		var hits [3][64]atomic.Int32
		for level := 0; level < 3; level++ {
			tasks := []task{
				{chunks: 40, run: func(c, w int) { hits[level][c].Add(1) }},
				{chunks: 24, run: func(c, w int) { hits[level][40+c].Add(1) }},
			}
			p.run(tasks)
		}
		p.close()
		for l := range hits {
			for c := range hits[l] {
				if n := hits[l][c].Load(); n != 1 {
					t.Fatalf("iter %d level %d chunk %d ran %d times", iter, l, c, n)
				}
			}
		}
	}
}
