package lower

import (
	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
)

// deadcode removes nodes that neither feed an output nor write state.
func deadcode(f *Func) error {
	live := map[*graph.Node]bool{}
	var mark func(n *graph.Node)
	mark = func(n *graph.Node) {
		if live[n] {
			return
		}
		live[n] = true
		for _, in := range n.Inputs {
			mark(in)
		}
	}
	for _, o := range f.G.Outputs {
		mark(o)
	}
	for _, n := range f.G.Nodes {
		if writesState(n) {
			mark(n)
		}
	}
	kept := f.G.Nodes[:0]
	for _, n := range f.G.Nodes {
		if live[n] {
			kept = append(kept, n)
		} else {
			f.Count("removed", 1)
		}
	}
	f.G.Nodes = kept
	f.G.Renumber()
	return nil
}

// writesState reports whether n has a side effect on a state buffer.
func writesState(n *graph.Node) bool { return ops.InPlace(n.Op) }
