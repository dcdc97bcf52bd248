package lower

import (
	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
)

// canFuse is the one legality rule for folding producer p into its consumer:
// p is a computed node whose only use is that consumer, it is not a graph
// output, and it writes no state. (Like ggml_can_fuse: single use, not an
// output, not a view.) Shape compatibility is each pattern's own check,
// done by re-inferring the fused node's type.
func canFuse(p *graph.Node, uses map[*graph.Node]int, g *graph.Graph) bool {
	return p.Kind == graph.Compute && uses[p] == 1 && !g.IsOutput(p) && !writesState(p)
}

func useCounts(g *graph.Graph) map[*graph.Node]int {
	u := make(map[*graph.Node]int, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			u[in]++
		}
	}
	return u
}

// rewrite turns consumer c into a fused node of op o with the given inputs,
// keeping c's name (so dumps and comparisons still line up) and recording
// the fused parts. It reports false, changing nothing, if the fused node's
// type would differ from c's.
func rewrite(c *graph.Node, o ops.Op, a ops.Attrs, fused []string, in ...*graph.Node) bool {
	types := make([]ops.TensorType, len(in))
	for i, x := range in {
		types[i] = x.Type
	}
	t, err := ops.Infer(o, types, a)
	if err != nil || !t.Equal(c.Type) {
		return false
	}
	c.Op, c.Attrs, c.Inputs = o, a, in
	c.Fused = append(c.Fused, fused...)
	return true
}

// removeDead drops nodes nothing uses any more (the fused-away producers).
func removeDead(f *Func, before map[*graph.Node]int) {
	after := useCounts(f.G)
	kept := f.G.Nodes[:0]
	for _, n := range f.G.Nodes {
		if n.Kind == graph.Compute && before[n] > 0 && after[n] == 0 && !f.G.IsOutput(n) && !writesState(n) {
			continue
		}
		kept = append(kept, n)
	}
	f.G.Nodes = kept
	f.G.Renumber()
}

// fuseOperand rewrites each node of op consumer (a commutative binary op)
// one of whose operands is a fusable node of op producer: fold(n, p, other)
// checks the pattern's own conditions, performs the rewrite and reports
// whether it applied.
func fuseOperand(f *Func, consumer, producer ops.Op, fold func(n, p, other *graph.Node) bool) {
	uses := useCounts(f.G)
	for _, n := range f.G.Nodes {
		if n.Op != consumer {
			continue
		}
		for i := 0; i < 2; i++ {
			p, other := n.Inputs[i], n.Inputs[1-i]
			if p.Op == producer && canFuse(p, uses, f.G) && fold(n, p, other) {
				f.Count("fused", 1)
				break
			}
		}
	}
	removeDead(f, uses)
}

// fuseRMSNormMul folds mul(rms_norm(x), w) with a one-row f32 weight into
// rms_norm_mul; per-head norms (head_dim set) fold with a per-head weight.
func fuseRMSNormMul(f *Func) error {
	fuseOperand(f, ops.OpMul, ops.OpRMSNorm, func(n, p, w *graph.Node) bool {
		return w.Type.Rows() == 1 && p.Attrs.HeadDim == n.Attrs.HeadDim &&
			rewrite(n, ops.OpRMSNormMul, ops.Attrs{Eps: p.Attrs.Eps, HeadDim: p.Attrs.HeadDim}, []string{"rms_norm", "mul"}, p.Inputs[0], w)
	})
	return nil
}

// fuseSwiGLU folds mul(silu(gate), up) into swiglu.
func fuseSwiGLU(f *Func) error {
	fuseOperand(f, ops.OpMul, ops.OpSiLU, func(n, p, up *graph.Node) bool {
		return up.Type.Equal(p.Type) && rewrite(n, ops.OpSwiGLU, ops.Attrs{}, []string{"silu", "mul"}, p.Inputs[0], up)
	})
	return nil
}

// fuseRopeKVWrite folds kv_write(cache, rope(x, pos), pos) into rope_kv_write:
// the rotated rows go straight into the cache.
func fuseRopeKVWrite(f *Func) error {
	uses := useCounts(f.G)
	for _, n := range f.G.Nodes {
		if n.Op != ops.OpKVWrite {
			continue
		}
		r := n.Inputs[1]
		if r.Op != ops.OpRope || !canFuse(r, uses, f.G) || r.Inputs[1] != n.Inputs[2] || n.Attrs.Cache.Turbo() {
			continue // a turbo cache's center needs every rotated row before the first is packed
		}
		in := []*graph.Node{n.Inputs[0], r.Inputs[0], n.Inputs[2]}
		if len(r.Inputs) == 3 {
			in = append(in, r.Inputs[2])
		}
		a := r.Attrs
		a.Cache, a.Layer = n.Attrs.Cache, n.Attrs.Layer // the write's cache format
		if rewrite(n, ops.OpRopeKVWrite, a, []string{"rope", "kv_write"}, in...) {
			f.Count("fused", 1)
		}
	}
	removeDead(f, uses)
	return nil
}

// foldResidualAdd folds add(matmul(x, w), r) into matmul_add: the residual
// (or a one-row bias, qwen2's Q/K/V) is added as each output element is
// produced, saving a level and a pass over the activations. The add node becomes the fused node, so its inputs are
// all defined before it.
func foldResidualAdd(f *Func) error {
	fuseOperand(f, ops.OpAdd, ops.OpMatMul, func(n, m, r *graph.Node) bool {
		return rewrite(n, ops.OpMatMulAdd, ops.Attrs{}, []string{"matmul", "add"}, m.Inputs[0], m.Inputs[1], r)
	})
	return nil
}
