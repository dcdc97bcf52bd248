package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/kiln-ml/kiln"
)

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	var mf modelFlags
	mf.register(fs)
	var sf samplerFlags
	sf.register(fs)
	prompt := fs.String("p", "", "prompt (required)")
	fs.StringVar(prompt, "prompt", "", "same as -p")
	n := fs.Int("n", 128, "tokens to generate")
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
	smpOpt, err := sf.options()
	if err != nil {
		return err
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	ids, err := m.Tokenize(*prompt)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("the prompt has no tokens")
	}
	if len(ids) >= m.Ctx {
		return fmt.Errorf("the prompt has %d tokens; the context holds %d (raise -c)", len(ids), m.Ctx)
	}
	smp := kiln.NewSampler(smpOpt)
	sess, err := m.NewSession()
	if err != nil {
		return err
	}
	if *verbose {
		h := m.Hyper()
		fmt.Fprintf(stderr, "model: %s (%s), %d layers, dim %d, %d heads (%d kv), vocab %d, ctx %d, threads %d, seed %d\n",
			h.Name, h.Arch, h.NLayer, h.NEmbd, h.NHead, h.NKVHead, h.NVocab, m.Ctx, m.Threads(), smpOpt.Seed)
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
