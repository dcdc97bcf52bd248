package kiln

import (
	"context"
	"fmt"
	"iter"
)

// Generate evaluates prompt (appended to the session) and then yields up
// to n sampled tokens, stopping early at an end-of-generation token or when
// ctx is cancelled. A failure is yielded once as an error, ending the sequence.
func (s *Session) Generate(ctx context.Context, prompt []int32, n int, smp *Sampler) iter.Seq2[int32, error] {
	return func(yield func(int32, error) bool) {
		if len(prompt) == 0 {
			yield(0, fmt.Errorf("generate: empty prompt"))
			return
		}
		for _, id := range prompt {
			smp.Accept(id)
		}
		logits, err := s.Eval(prompt, false)
		if err != nil {
			yield(0, err)
			return
		}
		tok := [1]int32{}
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				yield(0, err)
				return
			}
			id := smp.Sample(logits)
			smp.Accept(id)
			if s.m.Tok.IsEOG(id) {
				return
			}
			if !yield(id, nil) {
				return
			}
			if i == n-1 {
				return
			}
			if s.pos >= s.m.Ctx {
				yield(0, fmt.Errorf("generate: context of %d tokens is full", s.m.Ctx))
				return
			}
			tok[0] = id
			if logits, err = s.Eval(tok[:], false); err != nil {
				yield(0, err)
				return
			}
		}
	}
}
