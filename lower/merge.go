package lower

import (
	"strings"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// mergeMatMuls turns matmuls that read the same input with weights of the
// same format (Q, K and V of a layer; gate and up) into one matmul_group
// step, each original node becoming a segment view of its product. One
// kernel then covers all their rows: one launch on a GPU, one step with
// one chunk counter on the CPU. It runs after quantize-activations, so the
// shared input is the already-quantized activation.
func mergeMatMuls(f *Func) error {
	type key struct {
		x *graph.Node
		t quant.Type
	}
	groups := map[key][]*graph.Node{}
	var order []key
	for _, n := range f.G.Nodes {
		if n.Op != ops.OpMatMul || f.G.IsOutput(n) {
			continue
		}
		k := key{n.Inputs[0], n.Inputs[1].Type.DType}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], n)
	}
	made := map[*graph.Node]*graph.Node{} // first member -> its group node
	for _, k := range order {
		ms := groups[k]
		for len(ms) >= 2 {
			part := ms[:min(len(ms), ops.MaxGroup)]
			ms = ms[len(part):]
			made[part[0]] = group(k.x, part)
			f.Count("groups", 1)
			f.Count("matmuls", len(part))
		}
	}
	if len(made) == 0 {
		return nil
	}
	var out []*graph.Node
	for _, n := range f.G.Nodes {
		if g := made[n]; g != nil {
			out = append(out, g)
		}
		out = append(out, n)
	}
	f.G.Nodes = topoSort(out)
	f.G.Renumber()
	return nil
}

// group builds the matmul_group of ms (matmuls of x) and rewrites each of
// ms in place into a segment of it, so their users need no change.
func group(x *graph.Node, ms []*graph.Node) *graph.Node {
	in := []*graph.Node{x}
	names := make([]string, len(ms))
	n := 0
	for i, m := range ms {
		in = append(in, m.Inputs[1])
		names[i] = m.Name
		n += m.Type.Shape[1]
	}
	g := &graph.Node{Name: groupName(names), Kind: graph.Compute, Op: ops.OpMatMulGroup, Inputs: in,
		Type: ops.F32(x.Type.Shape[0], n)}
	start := 0
	for _, m := range ms {
		c := m.Type.Shape[1]
		m.Op, m.Attrs, m.Inputs = ops.OpSegment, ops.Attrs{Start: start, Count: c}, []*graph.Node{g}
		start += c
	}
	return g
}

// groupName joins member names sharing their layer prefix:
// "blk.0.attn_q+attn_k+attn_v".
func groupName(names []string) string {
	prefix := ""
	if i := strings.LastIndexByte(names[0], '.'); i >= 0 {
		prefix = names[0][:i+1]
	}
	var b strings.Builder
	for i, s := range names {
		if i > 0 {
			b.WriteByte('+')
			if !strings.HasPrefix(s, prefix) {
				b.WriteString(s)
				continue
			}
		} else {
			b.WriteString(prefix)
		}
		b.WriteString(strings.TrimPrefix(s, prefix))
	}
	return b.String()
}

// topoSort orders nodes so every node follows its inputs, keeping the given
// order wherever it already allows that.
func topoSort(nodes []*graph.Node) []*graph.Node {
	done := make(map[*graph.Node]bool, len(nodes))
	out := make([]*graph.Node, 0, len(nodes))
	var visit func(n *graph.Node)
	visit = func(n *graph.Node) {
		if done[n] {
			return
		}
		done[n] = true
		for _, in := range n.Inputs {
			visit(in)
		}
		out = append(out, n)
	}
	for _, n := range nodes {
		visit(n)
	}
	return out
}
