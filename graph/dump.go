package graph

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kiln-ml/kiln/ops"
)

// DumpOptions selects what a dump shows.
type DumpOptions struct {
	// Layer limits the dump to nodes of one block (and the leaves they use); -1 shows all.
	Layer int
}

// selected returns the nodes to show: all, or one layer's nodes plus their direct inputs.
func (g *Graph) selected(opt DumpOptions) []*Node {
	if opt.Layer < 0 {
		return g.Nodes
	}
	keep := map[*Node]bool{}
	for _, n := range g.Nodes {
		if n.Layer() == opt.Layer {
			keep[n] = true
			for _, in := range n.Inputs {
				keep[in] = true
			}
		}
	}
	var r []*Node
	for _, n := range g.Nodes {
		if keep[n] {
			r = append(r, n)
		}
	}
	return r
}

// DumpText writes one line per node:
//
//	%12 blk.0.attn_q = matmul(%11 blk.0.attn_norm, %3 blk.0.attn_q.weight) f32[1,64]
func (g *Graph) DumpText(w io.Writer, opt DumpOptions) error {
	ew := &errWriter{w: w}
	nodes := g.selected(opt)
	ew.printf("graph %s: %d nodes, %d outputs\n", g.Name, len(g.Nodes), len(g.Outputs))
	for _, n := range nodes {
		ew.printf("%s\n", n.Line(g.IsOutput(n)))
	}
	return ew.err
}

// Line renders one node as a text-dump line.
func (n *Node) Line(output bool) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%%%-4d %s = ", n.ID, n.Name)
	if n.Kind != Compute {
		fmt.Fprintf(&sb, "%s", n.Kind)
	} else {
		fmt.Fprintf(&sb, "%s(", opLabel(n))
		for i, in := range n.Inputs {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "%%%d", in.ID)
		}
		sb.WriteString(")")
		if a := ops.FormatAttrs(n.Op, n.Attrs); a != "" {
			fmt.Fprintf(&sb, " {%s}", a)
		}
	}
	fmt.Fprintf(&sb, " %s", n.Type)
	if output {
		sb.WriteString(" output")
	}
	return sb.String()
}

func opLabel(n *Node) string {
	if len(n.Fused) == 0 {
		return n.Op.String()
	}
	return n.Op.String() + "[" + strings.Join(n.Fused, "+") + "]"
}

// DumpDOT writes a Graphviz digraph; layers become clusters.
func (g *Graph) DumpDOT(w io.Writer, opt DumpOptions) error {
	ew := &errWriter{w: w}
	nodes := g.selected(opt)
	ew.printf("digraph %q {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n", g.Name)
	byLayer := map[int][]*Node{}
	var order []int
	for _, n := range nodes {
		l := n.Layer()
		if _, ok := byLayer[l]; !ok {
			order = append(order, l)
		}
		byLayer[l] = append(byLayer[l], n)
	}
	for _, l := range order {
		indent := "  "
		if l >= 0 {
			ew.printf("  subgraph cluster_blk%d {\n    label=\"blk.%d\";\n", l, l)
			indent = "    "
		}
		for _, n := range byLayer[l] {
			shape, label := "box", fmt.Sprintf("%s\\n%s\\n%s", n.Name, opLabel(n), n.Type)
			if n.Kind != Compute {
				shape, label = "ellipse", fmt.Sprintf("%s\\n%s %s", n.Name, n.Kind, n.Type)
			}
			extra := ""
			if g.IsOutput(n) {
				extra = ", peripheries=2"
			}
			ew.printf("%sn%d [shape=%s, label=\"%s\"%s];\n", indent, n.ID, shape, label, extra)
		}
		if l >= 0 {
			ew.printf("  }\n")
		}
	}
	shown := map[*Node]bool{}
	for _, n := range nodes {
		shown[n] = true
	}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			if shown[in] {
				ew.printf("  n%d -> n%d;\n", in.ID, n.ID)
			}
		}
	}
	ew.printf("}\n")
	return ew.err
}

// JSONNode is the JSON form of a node.
type JSONNode struct {
	ID     int      `json:"id"`
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`
	Op     string   `json:"op,omitempty"`
	Fused  []string `json:"fused,omitempty"`
	Inputs []int    `json:"inputs,omitempty"`
	Attrs  string   `json:"attrs,omitempty"`
	DType  string   `json:"dtype"`
	Shape  []int    `json:"shape"`
	Layer  int      `json:"layer"`
	Output bool     `json:"output,omitempty"`
	FLOPs  int64    `json:"flops,omitempty"`
	Bytes  int64    `json:"bytes,omitempty"`
}

// DumpJSON writes {"name", "nodes": [...]}.
func (g *Graph) DumpJSON(w io.Writer, opt DumpOptions) error {
	out := struct {
		Name  string     `json:"name"`
		Nodes []JSONNode `json:"nodes"`
	}{Name: g.Name}
	for _, n := range g.selected(opt) {
		j := JSONNode{ID: n.ID, Name: n.Name, Kind: n.Kind.String(), DType: n.Type.DType.String(),
			Shape: n.Type.Shape, Layer: n.Layer(), Output: g.IsOutput(n), Fused: n.Fused}
		if n.Kind == Compute {
			j.Op = n.Op.String()
			j.Attrs = ops.FormatAttrs(n.Op, n.Attrs)
			for _, in := range n.Inputs {
				j.Inputs = append(j.Inputs, in.ID)
			}
			c := n.Cost()
			j.FLOPs, j.Bytes = c.FLOPs, c.Bytes
		}
		out.Nodes = append(out.Nodes, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(out)
}

// Cost estimates the node's FLOPs and bytes.
func (n *Node) Cost() ops.Cost {
	s, ok := ops.Lookup(n.Op)
	if !ok || s.Cost == nil {
		return ops.Cost{}
	}
	types := make([]ops.TensorType, len(n.Inputs))
	for i, in := range n.Inputs {
		types[i] = in.Type
	}
	return s.Cost(types, n.Type, n.Attrs)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
