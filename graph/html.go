package graph

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// Stage is a named snapshot of a graph, e.g. the graph after one lowering pass.
type Stage struct {
	Name  string
	Graph *Graph
}

// WriteStagesHTML writes one self-contained page showing every stage side by
// side, like GOSSAFUNC's ssa.html: a column per stage, a line per node;
// hovering a name highlights that node in every column, and nodes that are
// new in a stage (not in the previous one) are marked.
func WriteStagesHTML(w io.Writer, title string, stages []Stage, opt DumpOptions) error {
	var sb strings.Builder
	sb.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>`)
	sb.WriteString(html.EscapeString(title))
	sb.WriteString(`</title><style>
body{font-family:monospace;font-size:12px;margin:0}
h1{font-size:14px;margin:8px}
.stages{display:flex;overflow-x:auto;align-items:flex-start}
.stage{border-left:1px solid #ccc;padding:4px 8px;white-space:pre;min-width:24em}
.stage h2{font-size:13px;margin:4px 0;position:sticky;top:0;background:#fff}
.new{background:#e6ffe6}.leaf{color:#777}.hl{background:#ffe08a !important}
</style></head><body><h1>`)
	sb.WriteString(html.EscapeString(title))
	sb.WriteString("</h1><div class=\"stages\">\n")
	var prev map[string]bool
	for _, st := range stages {
		fmt.Fprintf(&sb, "<div class=\"stage\"><h2>%s (%d nodes)</h2>", html.EscapeString(st.Name), len(st.Graph.Nodes))
		seen := map[string]bool{}
		for _, n := range st.Graph.selected(opt) {
			seen[n.Name+"|"+opLabel(n)] = true
			cls := ""
			if n.Kind != Compute {
				cls = "leaf"
			} else if prev != nil && !prev[n.Name+"|"+opLabel(n)] {
				cls = "new"
			}
			fmt.Fprintf(&sb, "<div class=\"%s\" data-n=\"%s\">%s</div>", cls, html.EscapeString(n.Name), html.EscapeString(n.Line(st.Graph.IsOutput(n))))
		}
		prev = seen
		sb.WriteString("</div>\n")
	}
	sb.WriteString(`</div><script>
document.querySelectorAll('[data-n]').forEach(function(e){
 e.onmouseover=function(){document.querySelectorAll('[data-n="'+e.dataset.n+'"]').forEach(function(x){x.classList.add('hl')})};
 e.onmouseout=function(){document.querySelectorAll('.hl').forEach(function(x){x.classList.remove('hl')})};
});
</script></body></html>
`)
	_, err := io.WriteString(w, sb.String())
	return err
}
