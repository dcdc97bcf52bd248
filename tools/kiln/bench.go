package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/runtime/cpu/simd"
)

// benchResult is one row of llama-bench's table.
type benchResult struct {
	Model   string    `json:"model"`
	Size    int64     `json:"size_bytes"`
	Params  int64     `json:"params"`
	Backend string    `json:"backend"`
	Threads int       `json:"threads"`
	TypeK   string    `json:"type_k"`
	TypeV   string    `json:"type_v"`
	Depth   int       `json:"n_depth"`
	Test    string    `json:"test"`
	TPS     float64   `json:"t/s"`
	SD      float64   `json:"sd"`
	Samples []float64 `json:"samples"`
}

func cmdBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	path := fs.String("m", "", "GGUF model file (required unless --bandwidth alone)")
	pp := fs.String("p", "128", "prompt (prefill) sizes, comma-separated; empty for none")
	tg := fs.Int("n", 64, "tokens to generate in the decode test (0: none)")
	threads := fs.String("t", strconv.Itoa(goruntime.NumCPU()), "thread counts, comma-separated")
	reps := fs.Int("r", 5, "repetitions")
	asJSON := fs.Bool("json", false, "print JSON")
	bw := fs.Bool("bandwidth", false, "measure DRAM read bandwidth and the model's decode bound")
	passes := fs.String("passes", "", "lowering passes to switch off, e.g. -merge-matmuls (comma-separated)")
	backend := fs.String("backend", "cpu", "what runs the model: cpu, cuda, metal or auto")
	gpuSync := fs.String("gpu-sync", "graph", "GPU submission modes to compare, comma-separated: graph, stream, per-op")
	depth := fs.Int("d", 0, "context depth: tokens evaluated (untimed) before each test, as llama-bench's -d")
	var kv cacheFlags
	kv.register(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	off, err := parsePasses(*passes)
	if err != nil {
		return err
	}
	ppSizes, err := parseInts(*pp, "-p", 1)
	if err != nil {
		return err
	}
	ths, err := parseInts(*threads, "-t", 1)
	if err != nil {
		return err
	}
	if *reps < 1 || *tg < 0 || *depth < 0 {
		return fmt.Errorf("%w: -r must be at least 1, -n and -d not negative", errUsage)
	}
	if err := kv.check(); err != nil {
		return err
	}
	if *bw {
		var m *kiln.Model
		if *path != "" {
			if m, err = kiln.Load(*path, kiln.Options{Threads: 1}); err != nil {
				return err
			}
			defer m.Close()
			fmt.Fprintf(stdout, "weights read per decode token: %.2f MB\n", float64(m.WeightBytesPerToken())/1e6)
		}
		for _, th := range ths {
			gbs := measureBandwidth(th)
			fmt.Fprintf(stdout, "DRAM read bandwidth: %.2f GB/s (%d threads)", gbs, th)
			if m != nil {
				fmt.Fprintf(stdout, "; decode bound: %.1f tok/s", gbs*1e9/float64(m.WeightBytesPerToken()))
			}
			fmt.Fprintln(stdout)
		}
		return nil
	}
	if *path == "" {
		return fmt.Errorf("%w: -m FILE is required", errUsage)
	}
	var rows []benchResult
	// A GPU backend runs once per sync mode (threads do not apply).
	type config struct {
		threads int
		sync    string
	}
	var configs []config
	for _, th := range ths {
		configs = append(configs, config{threads: th})
	}
	if *backend != "cpu" {
		configs = nil
		for _, s := range strings.Split(*gpuSync, ",") {
			configs = append(configs, config{threads: ths[0], sync: strings.TrimSpace(s)})
		}
	}
	r0 := rand.New(rand.NewPCG(3, 4))
	for _, cf := range configs {
		th := cf.threads
		m, err := kiln.Load(*path, kiln.Options{Threads: th, Context: max(*depth+max(maxInt(ppSizes), *tg), 16), Backend: *backend, GPUSync: cf.sync, DisablePasses: off, CacheTypeK: kv.k, CacheTypeV: kv.v})
		if err != nil {
			return err
		}
		kt, vt := m.CacheTypes()
		base := benchResult{Model: filepath.Base(*path), Size: m.WeightBytes(), Params: m.ParamCount(), Backend: "cpu", Threads: th, TypeK: kt.String(), TypeV: vt.String(), Depth: *depth}
		if cf.sync != "" {
			base.Backend = *backend + "/" + cf.sync
		}
		var prefix []int32
		for i := 0; i < *depth; i++ {
			prefix = append(prefix, int32(r0.IntN(m.Hyper().NVocab)))
		}
		nv := m.Hyper().NVocab
		r := rand.New(rand.NewPCG(1, 2))
		for _, p := range ppSizes {
			toks := make([]int32, p)
			for i := range toks {
				toks[i] = int32(r.IntN(nv))
			}
			row := base
			row.Test = fmt.Sprintf("pp%d", p)
			err := sample(&row, *reps, p, func(s *kiln.Session) error {
				_, err := s.Eval(toks, false)
				return err
			}, m, prefix)
			if err != nil {
				m.Close()
				return err
			}
			rows = append(rows, row)
		}
		if *tg > 0 {
			row := base
			row.Test = fmt.Sprintf("tg%d", *tg)
			err := sample(&row, *reps, *tg, func(s *kiln.Session) error {
				tok := []int32{1}
				for i := 0; i < *tg; i++ {
					logits, err := s.Eval(tok, false)
					if err != nil {
						return err
					}
					tok[0] = kiln.Argmax(logits)
				}
				return nil
			}, m, prefix)
			if err != nil {
				m.Close()
				return err
			}
			rows = append(rows, row)
		}
		m.Close()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", " ")
		return enc.Encode(rows)
	}
	fmt.Fprintf(stdout, "| %-28s | %10s | %8s | %-7s | %7s | %8s | %18s |\n", "model", "size", "params", "backend", "threads", "test", "t/s")
	fmt.Fprintf(stdout, "|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 30), strings.Repeat("-", 12), strings.Repeat("-", 10), strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 10), strings.Repeat("-", 20))
	for _, r := range rows {
		test := r.Test
		if r.Depth > 0 {
			test += fmt.Sprintf(" @ d%d", r.Depth)
		}
		if r.TypeK != "f16" || r.TypeV != "f16" {
			test += fmt.Sprintf(" k:%s v:%s", r.TypeK, r.TypeV)
		}
		fmt.Fprintf(stdout, "| %-28s | %7.2f MiB | %6.2f M | %-7s | %7d | %8s | %9.2f ± %6.2f |\n",
			r.Model, float64(r.Size)/(1<<20), float64(r.Params)/1e6, r.Backend, r.Threads, test, r.TPS, r.SD)
	}
	return nil
}

// sample runs one warm-up and reps timed runs of fn on a fresh session each,
// recording tokens per second.
func sample(row *benchResult, reps, tokens int, fn func(*kiln.Session) error, m *kiln.Model, prefix []int32) error {
	for i := -1; i < reps; i++ {
		s, err := m.NewSession()
		if err != nil {
			return err
		}
		if len(prefix) > 0 { // the depth, untimed
			if _, err := s.Eval(prefix, false); err != nil {
				return err
			}
		}
		start := time.Now()
		if err := fn(s); err != nil {
			return err
		}
		if i >= 0 {
			row.Samples = append(row.Samples, float64(tokens)/time.Since(start).Seconds())
		}
	}
	var mean float64
	for _, v := range row.Samples {
		mean += v
	}
	mean /= float64(len(row.Samples))
	var ss float64
	for _, v := range row.Samples {
		ss += (v - mean) * (v - mean)
	}
	row.TPS = mean
	if len(row.Samples) > 1 {
		row.SD = math.Sqrt(ss / float64(len(row.Samples)-1))
	}
	return nil
}

// measureBandwidth reads a 512 MiB buffer with n goroutines several times
// and returns the best GB/s: a decode step is bounded by how fast weights
// stream in. The reads go through the vector dot kernel, as the matmul
// kernels' do; a scalar Go loop is limited by instructions, not memory, and
// read 20.3 GB/s here where vector loads read 27.5.
func measureBandwidth(n int) float64 {
	const size = 512 << 20
	buf := make([]float32, size/4)
	for i := range buf {
		buf[i] = float32(i & 255)
	}
	sums := make([]float32, n*16) // one cache line each, kept so the reads are not dead
	best := 0.0
	for rep := 0; rep < 5; rep++ {
		var wg sync.WaitGroup
		part := len(buf) / n
		start := time.Now()
		for w := 0; w < n; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				const chunk = 16 << 10 // floats: 64 KiB per call
				b := buf[w*part : (w+1)*part]
				var s float32
				for i := 0; i+chunk <= len(b); i += chunk {
					c := b[i : i+chunk]
					s += simd.DotF32(c, c)
				}
				sums[w*16] = s
			}(w)
		}
		wg.Wait()
		gbs := float64(size) / time.Since(start).Seconds() / 1e9
		best = max(best, gbs)
	}
	return best
}

func parseInts(s, flagName string, minVal int) ([]int, error) {
	var r []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < minVal {
			return nil, fmt.Errorf("%w: %s %q: want integers of at least %d", errUsage, flagName, f, minVal)
		}
		r = append(r, v)
	}
	if len(r) == 0 && flagName == "-t" {
		return nil, fmt.Errorf("%w: -t needs at least one thread count", errUsage)
	}
	return r, nil
}

func maxInt(v []int) int {
	m := 0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
