package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/ops/kvquant"
)

// modelFlags are shared by every command that loads a model.
type modelFlags struct {
	path    string
	threads int
	ctx     int
	passes  string
	backend string
	gpuSync string
	kv      cacheFlags
}

// cacheFlags are the KV cache formats, llama.cpp's -ctk/-ctv (and quant.cpp's -k).
type cacheFlags struct{ k, v string }

var cacheHelp = "f32, f16, q8_0, q4_0" // values; keys also take turbo_kv_3b, turbo_kv_4b, turbo_kv_5b

func (c *cacheFlags) register(fs *flag.FlagSet) {
	kh := "KV cache type of keys: " + cacheHelp + ", turbo_kv_3b, turbo_kv_4b, turbo_kv_5b (default f16; f32 on a GPU backend)"
	fs.StringVar(&c.k, "ctk", "", kh)
	fs.StringVar(&c.k, "cache-type-k", "", "same as -ctk")
	fs.StringVar(&c.k, "k", "", "same as -ctk")
	fs.StringVar(&c.v, "ctv", "", "KV cache type of values: "+cacheHelp+" (default f16; f32 on a GPU backend)")
	fs.StringVar(&c.v, "cache-type-v", "", "same as -ctv")
}

// check reports an unknown or misplaced cache type as a usage error naming it.
func (c *cacheFlags) check() error {
	if c.k != "" {
		if _, err := kvquant.Parse(c.k); err != nil {
			return fmt.Errorf("%w: -ctk: %v", errUsage, err)
		}
	}
	if c.v == "" {
		return nil
	}
	t, err := kvquant.Parse(c.v)
	if err != nil {
		return fmt.Errorf("%w: -ctv: %v", errUsage, err)
	}
	if t.Turbo() {
		return fmt.Errorf("%w: -ctv: %s is for keys only (values: %s)", errUsage, t, cacheHelp)
	}
	return nil
}

func (m *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.path, "m", "", "GGUF model file (required)")
	fs.StringVar(&m.path, "model", "", "same as -m")
	fs.IntVar(&m.threads, "t", 0, "threads (0: all cores)")
	fs.IntVar(&m.threads, "threads", 0, "same as -t")
	fs.IntVar(&m.ctx, "c", 0, "context length (0: the model's, at most 4096)")
	fs.IntVar(&m.ctx, "ctx-size", 0, "same as -c")
	fs.StringVar(&m.passes, "passes", "", "lowering passes to switch off, e.g. -quantize-activations (comma-separated)")
	fs.StringVar(&m.backend, "backend", "cpu", "what runs the model: cpu, cuda, metal or auto")
	fs.StringVar(&m.gpuSync, "gpu-sync", "graph", "how a GPU step is submitted: graph, stream or per-op")
	m.kv.register(fs)
}

// check reports a missing or out-of-range model flag as a usage error, so a
// command can call it before doing other work.
func (m *modelFlags) check() error {
	if m.path == "" {
		return fmt.Errorf("%w: -m FILE is required", errUsage)
	}
	if m.ctx < 0 {
		return fmt.Errorf("%w: -c %d: context length must be positive", errUsage, m.ctx)
	}
	if m.threads < 0 {
		return fmt.Errorf("%w: -t %d: thread count must be positive", errUsage, m.threads)
	}
	return m.kv.check()
}

func (m *modelFlags) load() (*kiln.Model, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	off, err := parsePasses(m.passes)
	if err != nil {
		return nil, err
	}
	return kiln.Load(m.path, kiln.Options{Threads: m.threads, Context: m.ctx, DisablePasses: off, Backend: m.backend, GPUSync: m.gpuSync, CacheTypeK: m.kv.k, CacheTypeV: m.kv.v})
}

// parsePasses reads --passes=-NAME,-NAME into the names to switch off.
func parsePasses(spec string) ([]string, error) {
	var off []string
	for _, p := range strings.Split(spec, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.HasPrefix(p, "-") {
			return nil, fmt.Errorf("%w: --passes %q: write -NAME to switch a pass off", errUsage, p)
		}
		pass, err := checkPass(p[1:], "--passes")
		if err != nil {
			return nil, err
		}
		if pass.Required {
			return nil, fmt.Errorf("%w: --passes: pass %q is required and cannot be switched off", errUsage, pass.Name)
		}
		off = append(off, p[1:])
	}
	return off, nil
}

// checkPass looks a lowering pass up by name; an unknown name is a usage
// error that lists the passes there are.
func checkPass(name, flag string) (lower.Pass, error) {
	var names []string
	for _, p := range lower.Passes() {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return lower.Pass{}, fmt.Errorf("%w: %s: unknown pass %q (passes: %s)", errUsage, flag, name, strings.Join(names, ", "))
}
