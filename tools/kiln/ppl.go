package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/tokenizer"
)

func cmdPPL(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ppl", stderr)
	var mf modelFlags
	mf.register(fs)
	file := fs.String("f", "", "text file (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := mf.check(); err != nil {
		return err
	}
	if *file == "" {
		return fmt.Errorf("%w: -f FILE is required", errUsage)
	}
	text, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	nctx := mf.ctx
	if nctx == 0 {
		nctx = m.Ctx
	}
	// llama-perplexity drops one trailing newline from the file.
	t := strings.TrimSuffix(string(text), "\n")
	ids, err := m.Tok.Encode(t, tokenizer.EncodeOptions{AddBOS: true})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var progress func(done, total int, ppl float64)
	if isTerminal(stderr) {
		progress = func(done, total int, ppl float64) {
			fmt.Fprintf(stderr, "\rchunk %d/%d ppl %.4f", done, total, ppl)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	r, err := m.Perplexity(ctx, ids, nctx, progress)
	if err != nil {
		return err
	}
	if *asJSON {
		kt, vt := m.CacheTypes()
		kb, vb := m.KVBytesPerToken()
		return json.NewEncoder(stdout).Encode(pplReport{r, kt.String(), vt.String(), kb, vb, kb + vb})
	}
	fmt.Fprintf(stdout, "perplexity: %.4f (%d chunks of %d, %d tokens, %d scored)\n", r.PPL, r.Chunks, r.Ctx, r.Tokens, r.Scored)
	return nil
}

// pplReport is kiln.PerplexityResult plus the KV cache it ran with.
type pplReport struct {
	*kiln.PerplexityResult
	TypeK           string `json:"type_k"`
	TypeV           string `json:"type_v"`
	KBytesPerToken  int64  `json:"k_bytes_per_token"`
	VBytesPerToken  int64  `json:"v_bytes_per_token"`
	KVBytesPerToken int64  `json:"kv_bytes_per_token"`
}
