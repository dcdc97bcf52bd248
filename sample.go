package kiln

import (
	"math"
	"math/rand/v2"
	"slices"
)

// SamplerOptions follow llama.cpp's sampler chain and defaults:
// repetition penalty, then top-k, top-p, min-p, temperature, and a draw.
type SamplerOptions struct {
	Temp          float32 // <= 0: greedy
	TopK          int     // <= 0: off
	TopP          float32 // >= 1: off
	MinP          float32 // <= 0: off
	RepeatPenalty float32 // 1: off
	RepeatLastN   int     // how many recent tokens the penalty looks at
	Seed          uint64
}

// DefaultSampler mirrors llama.cpp's defaults.
func DefaultSampler() SamplerOptions {
	return SamplerOptions{Temp: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64}
}

// Sampler picks the next token from logits. It reuses its buffers, so
// sampling allocates nothing per token.
type Sampler struct {
	opt  SamplerOptions
	rng  *rand.Rand
	cand []candidate
	hist []int32
}

type candidate struct {
	id int32
	p  float32 // logit, then probability
}

// NewSampler builds a sampler; the same seed gives the same choices.
func NewSampler(opt SamplerOptions) *Sampler {
	return &Sampler{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))}
}

// Accept records a token (prompt or generated) for the repetition penalty.
func (s *Sampler) Accept(id int32) {
	n := max(s.opt.RepeatLastN, 0)
	if n == 0 {
		return
	}
	if len(s.hist) == n {
		copy(s.hist, s.hist[1:])
		s.hist = s.hist[:n-1]
	}
	s.hist = append(s.hist, id)
}

// Sample chooses a token from one row of logits.
func (s *Sampler) Sample(logits []float32) int32 {
	o := s.opt
	if o.Temp <= 0 && (o.RepeatPenalty == 1 || o.RepeatPenalty == 0) {
		return Argmax(logits)
	}
	s.cand = s.cand[:0]
	for i, l := range logits {
		s.cand = append(s.cand, candidate{int32(i), l})
	}
	if o.RepeatPenalty != 1 && o.RepeatPenalty > 0 {
		for _, id := range s.hist {
			c := &s.cand[id]
			if c.p > 0 {
				c.p /= o.RepeatPenalty
			} else {
				c.p *= o.RepeatPenalty
			}
		}
		// Each token is penalized once, however often it appeared: undo repeats.
		for i, id := range s.hist {
			if slices.Contains(s.hist[:i], id) {
				c := &s.cand[id]
				if c.p > 0 {
					c.p *= o.RepeatPenalty
				} else {
					c.p /= o.RepeatPenalty
				}
			}
		}
	}
	if o.Temp <= 0 {
		best := 0
		for i, c := range s.cand {
			if c.p > s.cand[best].p {
				best = i
			}
		}
		return s.cand[best].id
	}
	slices.SortFunc(s.cand, func(a, b candidate) int {
		if a.p > b.p {
			return -1
		}
		if a.p < b.p {
			return 1
		}
		return int(a.id - b.id)
	})
	c := s.cand
	if o.TopK > 0 && o.TopK < len(c) {
		c = c[:o.TopK]
	}
	softmax(c)
	if o.TopP > 0 && o.TopP < 1 {
		var cum float32
		for i := range c {
			cum += c[i].p
			if cum >= o.TopP {
				c = c[:i+1]
				break
			}
		}
	}
	if o.MinP > 0 {
		lim := c[0].p * o.MinP
		for i := range c {
			if c[i].p < lim {
				c = c[:max(i, 1)]
				break
			}
		}
	}
	// Temperature on the surviving logits: recover them as log-probabilities.
	for i := range c {
		c[i].p = float32(math.Log(float64(c[i].p))) / o.Temp
	}
	softmax(c)
	r := s.rng.Float32()
	var cum float32
	for _, x := range c {
		cum += x.p
		if r < cum {
			return x.id
		}
	}
	return c[len(c)-1].id
}

// softmax turns c[i].p from logits into probabilities.
func softmax(c []candidate) {
	m := float32(math.Inf(-1))
	for _, x := range c {
		m = max(m, x.p)
	}
	var sum float64
	for i := range c {
		e := math.Exp(float64(c[i].p - m))
		c[i].p = float32(e)
		sum += e
	}
	for i := range c {
		c[i].p = float32(float64(c[i].p) / sum)
	}
}

// Argmax returns the index of the largest logit (the first on ties).
func Argmax(logits []float32) int32 {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// LogSoftmaxAt returns log softmax(logits)[id] and the log-sum-exp, in float64.
func LogSoftmaxAt(logits []float32, id int32) (logp, lse float64) {
	m := float64(math.Inf(-1))
	for _, l := range logits {
		m = max(m, float64(l))
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - m)
	}
	lse = m + math.Log(sum)
	return float64(logits[id]) - lse, lse
}
