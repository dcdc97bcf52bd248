package kiln

import (
	"context"
	"fmt"
	"math"
)

// PerplexityResult reports llama.cpp-style perplexity.
type PerplexityResult struct {
	PPL      float64   `json:"ppl"`
	MeanNLL  float64   `json:"mean_nll"`
	Chunks   int       `json:"n_chunks"`
	Tokens   int       `json:"n_tokens"`
	Scored   int       `json:"n_scored"`
	Ctx      int       `json:"n_ctx"`
	ChunkNLL []float64 `json:"chunk_nll"`
}

// Perplexity computes perplexity the way llama-perplexity does: the text's
// tokens (with BOS when the vocabulary adds one) are cut into chunks of ctx
// tokens, each chunk's first token replaced by BOS and evaluated from an
// empty cache, and the predictions of the second half of each chunk scored
// (positions ctx/2 .. ctx-2). progress, if set, is called after each chunk.
func (m *Model) Perplexity(ctx context.Context, tokens []int32, nctx int, progress func(done, total int, ppl float64)) (*PerplexityResult, error) {
	if nctx < 4 || nctx > m.Ctx {
		return nil, fmt.Errorf("perplexity: chunk size %d must be in [4, %d] (the context length)", nctx, m.Ctx)
	}
	n := len(tokens) / nctx
	if n == 0 {
		return nil, fmt.Errorf("perplexity: %d tokens are fewer than one chunk of %d", len(tokens), nctx)
	}
	s, err := m.NewSession()
	if err != nil {
		return nil, err
	}
	bos := m.Tok.BOS()
	res := &PerplexityResult{Chunks: n, Tokens: len(tokens), Ctx: nctx}
	chunk := make([]int32, nctx)
	var total float64
	first := nctx / 2
	for c := 0; c < n; c++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		copy(chunk, tokens[c*nctx:(c+1)*nctx])
		if bos >= 0 {
			chunk[0] = bos
		}
		s.Reset()
		logits, err := s.Eval(chunk, true)
		if err != nil {
			return nil, fmt.Errorf("perplexity: chunk %d: %w", c, err)
		}
		nv := m.Hyper().NVocab
		var nll float64
		for i := first; i < nctx-1; i++ {
			lp, _ := LogSoftmaxAt(logits[i*nv:(i+1)*nv], chunk[i+1])
			nll -= lp
		}
		cnt := nctx - 1 - first
		res.ChunkNLL = append(res.ChunkNLL, nll/float64(cnt))
		total += nll
		res.Scored += cnt
		if progress != nil {
			progress(c+1, n, math.Exp(total/float64(res.Scored)))
		}
	}
	res.MeanNLL = total / float64(res.Scored)
	res.PPL = math.Exp(res.MeanNLL)
	return res, nil
}
