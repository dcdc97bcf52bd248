package main

import (
	"fmt"
	"io"
	"os"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/models"
)

func cmdGraph(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("graph", stderr)
	var mf modelFlags
	mf.register(fs)
	layer := fs.Int("layer", -1, "show one block only (-1: all)")
	format := fs.String("format", "text", "text, dot or json")
	tokens := fs.Int("T", 1, "tokens per step (1: decode; more: a prefill chunk)")
	after := fs.String("after", "", "show the graph after this lowering pass (default: as the model builds it)")
	program := fs.Bool("program", false, "print the lowered program (steps, buffers, arena) instead of the graph")
	stats := fs.Bool("stats", false, "print what each lowering pass changed")
	stages := fs.Bool("stages", false, "show the graph after every pass (with --format html: side by side on one page)")
	outPath := fs.String("o", "", "write to this file instead of stdout")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *tokens < 1 {
		return fmt.Errorf("%w: -T %d must be at least 1", errUsage, *tokens)
	}
	if *layer < -1 {
		return fmt.Errorf("%w: --layer %d: want a block index, or -1 for all", errUsage, *layer)
	}
	if *after != "" {
		if _, err := checkPass(*after, "--after"); err != nil {
			return err
		}
	}
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			return err
		}
		defer f.Close()
		stdout = f
	}
	var dump func(*graph.Graph, graph.DumpOptions) error
	var summary []string // the text dump opens with the architecture's structure
	switch *format {
	case "html":
		if !*stages {
			return fmt.Errorf("%w: --format html needs --stages", errUsage)
		}
	case "text":
		dump = func(g *graph.Graph, o graph.DumpOptions) error {
			for _, l := range summary { // once, before the first graph
				fmt.Fprintf(stdout, "# %s\n", l)
			}
			summary = nil
			return g.DumpText(stdout, o)
		}
	case "dot":
		dump = func(g *graph.Graph, o graph.DumpOptions) error { return g.DumpDOT(stdout, o) }
	case "json":
		dump = func(g *graph.Graph, o graph.DumpOptions) error { return g.DumpJSON(stdout, o) }
	default:
		return fmt.Errorf("%w: --format %q: want text, dot or json", errUsage, *format)
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	if h := m.Hyper(); *layer >= h.NLayer {
		return fmt.Errorf("%w: --layer %d: the model has %d layers", errUsage, *layer, h.NLayer)
	}
	shape := models.Shape{Tokens: *tokens, Ctx: m.Ctx}
	summary = models.Summary(m.Arch)
	opt := graph.DumpOptions{Layer: *layer}
	if *stages {
		g, err := m.Graph(shape)
		if err != nil {
			return err
		}
		all := []graph.Stage{{Name: "built", Graph: g}}
		_, err = m.Compile(shape, lower.Options{After: func(pass string, g *graph.Graph) {
			all = append(all, graph.Stage{Name: pass, Graph: g.Clone()})
		}})
		if err != nil {
			return err
		}
		if *format == "html" {
			return graph.WriteStagesHTML(stdout, fmt.Sprintf("%s (T=%d)", mf.path, *tokens), all, opt)
		}
		for _, st := range all {
			fmt.Fprintf(stdout, "== after %s\n", st.Name)
			if err := dump(st.Graph, opt); err != nil {
				return err
			}
		}
		return nil
	}
	if *program || *stats {
		p, err := m.Compile(shape, lower.Options{})
		if err != nil {
			return err
		}
		if *stats {
			lower.PrintStats(stdout, p.Stats)
		}
		if *program {
			return p.Dump(stdout)
		}
		return nil
	}
	if *after == "" {
		g, err := m.Graph(shape)
		if err != nil {
			return err
		}
		return dump(g, opt)
	}
	var final *graph.Graph
	_, err = m.Compile(shape, lower.Options{Stop: *after, After: func(pass string, g *graph.Graph) {
		if pass == *after {
			final = g
		}
	}})
	if err != nil {
		return err
	}
	if final == nil {
		return fmt.Errorf("pass %q is switched off", *after)
	}
	return dump(final, opt)
}
