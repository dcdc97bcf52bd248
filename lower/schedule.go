package lower

import (
	"fmt"
	"slices"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
)

// schedule assigns every compute node a level (one more than the deepest of
// its inputs), creates a buffer per tensor and orders steps by level. Steps
// of one level never depend on each other, so a runtime may run them
// concurrently and needs a barrier only between levels.
func schedule(f *Func) error {
	g := f.G
	p := &Program{Name: g.Name, Graph: g, Inputs: map[string]int{}, States: map[string]int{}}
	level := map[*graph.Node]int{}
	buf := map[*graph.Node]int{}
	newBuf := func(n *graph.Node, s Space) int {
		id := len(p.Buffers)
		p.Buffers = append(p.Buffers, Buffer{ID: id, Name: n.Name, Space: s, Type: n.Type, Size: n.Type.Bytes(), First: -1, Last: -1})
		return id
	}
	if err := checkStateUses(g); err != nil {
		return err
	}
	for _, n := range g.Nodes {
		switch n.Kind {
		case graph.Param:
			buf[n] = newBuf(n, Weight)
			level[n] = -1
		case graph.Input:
			buf[n] = newBuf(n, InputSpace)
			p.Inputs[n.Name] = buf[n]
			level[n] = -1
		case graph.State:
			buf[n] = newBuf(n, StateSpace)
			p.States[n.Name] = buf[n]
			level[n] = -1
		case graph.Compute:
			if ops.IsView(n.Op) {
				// Storage and level are the parent's; no kernel runs.
				par := n.Inputs[0]
				buf[n] = newBuf(n, Arena)
				b := &p.Buffers[buf[n]]
				b.View, b.Parent = true, buf[par]
				b.ViewOffset = int64(par.Type.Shape[0]*n.Attrs.Start) * 4
				level[n] = level[par]
				f.Count("views", 1)
				continue
			}
			l := 0
			for _, in := range n.Inputs {
				l = max(l, level[in]+1)
			}
			level[n] = l
			p.Levels = max(p.Levels, l+1)
			if writesState(n) {
				// The write happens in place: its result is the cache itself.
				if n.Inputs[0].Kind != graph.State {
					return fmt.Errorf("node %q: kv_write target %q is not a state tensor", n.Name, n.Inputs[0].Name)
				}
				buf[n] = buf[n.Inputs[0]]
			} else {
				buf[n] = newBuf(n, Arena)
			}
			s := Step{Kernel: KernelName(n), Op: n.Op, Name: n.Name, Fused: n.Fused, Attrs: n.Attrs, Out: buf[n], Level: l, Cost: n.Cost()}
			for _, in := range n.Inputs {
				s.In = append(s.In, buf[in])
			}
			p.Steps = append(p.Steps, s)
			f.Count("steps", 1)
		}
	}
	for _, o := range g.Outputs {
		p.Outputs = append(p.Outputs, buf[o])
	}
	slices.SortStableFunc(p.Steps, func(a, b Step) int { return a.Level - b.Level })
	f.Count("levels", p.Levels)
	f.Prog = p
	return nil
}

// checkStateUses requires every state tensor to be used only as the cache
// operand of one kv_write. Readers take the kv_write's result, which orders
// them after the write; a read of the state node itself would have no
// order against the write and could share its level, racing with it.
func checkStateUses(g *graph.Graph) error {
	writer := map[*graph.Node]*graph.Node{}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in.Kind != graph.State {
				continue
			}
			if !writesState(n) || i != 0 {
				return fmt.Errorf("node %q reads state %q directly; read the result of its kv_write instead", n.Name, in.Name)
			}
			if w := writer[in]; w != nil {
				return fmt.Errorf("nodes %q and %q both write state %q; chain the writes", w.Name, n.Name, in.Name)
			}
			writer[in] = n
		}
	}
	return nil
}

// KernelName names the kernel a node needs: the op, specialized by weight
// format where the format changes the code ("matmul_q4_k", "get_rows_f16").
func KernelName(n *graph.Node) string {
	switch n.Op {
	case ops.OpMatMul, ops.OpMatMulAdd, ops.OpMatMulGroup:
		return n.Op.String() + "_" + n.Inputs[1].Type.DType.String()
	case ops.OpGetRows:
		return n.Op.String() + "_" + n.Inputs[0].Type.DType.String()
	case ops.OpQuantize:
		return "quantize_" + n.Attrs.Type.String()
	}
	return n.Op.String()
}
