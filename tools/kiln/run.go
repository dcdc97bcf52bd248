package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/tokenizer"
)

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	var mf modelFlags
	mf.register(fs)
	def := kiln.DefaultSampler()
	prompt := fs.String("p", "", "prompt (required)")
	fs.StringVar(prompt, "prompt", "", "same as -p")
	n := fs.Int("n", 128, "tokens to generate")
	temp := fs.Float64("temp", float64(def.Temp), "temperature (0: greedy)")
	topK := fs.Int("top-k", def.TopK, "top-k (0: off)")
	topP := fs.Float64("top-p", float64(def.TopP), "top-p (1: off)")
	minP := fs.Float64("min-p", float64(def.MinP), "min-p (0: off)")
	rep := fs.Float64("repeat-penalty", float64(def.RepeatPenalty), "repetition penalty (1: off)")
	repN := fs.Int("repeat-last-n", def.RepeatLastN, "tokens the repetition penalty looks back over")
	seed := fs.Int64("seed", -1, "random seed (-1: from the clock)")
	verbose := fs.Bool("v", false, "print model and timing details to stderr")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *prompt == "" {
		return fmt.Errorf("%w: -p PROMPT is required", errUsage)
	}
	if *n < 0 {
		return fmt.Errorf("%w: -n %d must not be negative", errUsage, *n)
	}
	for _, c := range []struct {
		bad  bool
		flag string
		v    any
		want string
	}{
		{*temp < 0 || math.IsNaN(*temp), "--temp", *temp, "must be at least 0"},
		{!(*topP >= 0 && *topP <= 1), "--top-p", *topP, "must be in [0, 1]"},
		{!(*minP >= 0 && *minP <= 1), "--min-p", *minP, "must be in [0, 1]"},
		{!(*rep > 0), "--repeat-penalty", *rep, "must be positive"},
		{*topK < 0, "--top-k", *topK, "must not be negative"},
		{*repN < 0, "--repeat-last-n", *repN, "must not be negative"},
	} {
		if c.bad {
			return fmt.Errorf("%w: %s %v %s", errUsage, c.flag, c.v, c.want)
		}
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	ids, err := m.Tok.Encode(*prompt, tokenizer.EncodeOptions{AddBOS: true, ParseSpecial: true})
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("the prompt has no tokens")
	}
	if len(ids) >= m.Ctx {
		return fmt.Errorf("the prompt has %d tokens; the context holds %d (raise -c)", len(ids), m.Ctx)
	}
	s0 := uint64(*seed)
	if *seed < 0 {
		s0 = uint64(time.Now().UnixNano())
	}
	smp := kiln.NewSampler(kiln.SamplerOptions{Temp: float32(*temp), TopK: *topK, TopP: float32(*topP), MinP: float32(*minP),
		RepeatPenalty: float32(*rep), RepeatLastN: *repN, Seed: s0})
	sess, err := m.NewSession()
	if err != nil {
		return err
	}
	if *verbose {
		h := m.Hyper()
		fmt.Fprintf(stderr, "model: %s (%s), %d layers, dim %d, %d heads (%d kv), vocab %d, ctx %d, threads %d, seed %d\n",
			h.Name, h.Arch, h.NLayer, h.NEmbd, h.NHead, h.NKVHead, h.NVocab, m.Ctx, m.Threads(), s0)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	maxNew := min(*n, m.Ctx-len(ids))
	dec := m.Tok.NewStreamDecoder()
	start := time.Now()
	var first time.Time
	generated := 0
	for id, err := range sess.Generate(ctx, ids, maxNew, smp) {
		if err != nil {
			return err
		}
		if generated == 0 {
			first = time.Now()
		}
		generated++
		text, err := dec.Next(id)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(stdout, text); err != nil {
			return err
		}
	}
	end := time.Now()
	io.WriteString(stdout, dec.Flush())
	fmt.Fprintln(stdout)
	if first.IsZero() {
		first = end
	}
	prefill := first.Sub(start).Seconds()
	fmt.Fprintf(stderr, "prompt tokens: %d, prefill: %.1f tok/s", len(ids), float64(len(ids))/prefill)
	if generated > 1 {
		fmt.Fprintf(stderr, ", decode: %.1f tok/s (%d tokens)", float64(generated-1)/end.Sub(first).Seconds(), generated)
	}
	fmt.Fprintln(stderr)
	if *verbose {
		kt, vt := m.CacheTypes()
		kb, vb := m.KVBytesPerToken()
		fmt.Fprintf(stderr, "KV cache: %.2f MiB for %d tokens (k %s, v %s: %d + %d bytes per token)\n",
			float64(sess.KVBytes())/(1<<20), m.Ctx, kt, vt, kb, vb)
	}
	return nil
}
