package main

import (
	"fmt"
	"io"

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
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *tokens < 1 {
		return fmt.Errorf("%w: -T %d must be at least 1", errUsage, *tokens)
	}
	var dump func(*graph.Graph, graph.DumpOptions) error
	switch *format {
	case "text":
		dump = func(g *graph.Graph, o graph.DumpOptions) error { return g.DumpText(stdout, o) }
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
	opt := graph.DumpOptions{Layer: *layer}
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
