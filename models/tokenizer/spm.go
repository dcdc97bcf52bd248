package tokenizer

import (
	"fmt"
	"strings"
)

// SentencePiece (BPE flavour) as llama.cpp's llm_tokenizer_spm runs it: the
// text, spaces escaped to ▁, starts as one symbol per UTF-8 character; the
// adjacent pair whose concatenation is the highest-scoring token merges
// first (leftmost on ties), until no pair forms a token. Symbols that are
// not tokens fall back to byte tokens <0xXX>.

// escapedSpace is U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space.
const escapedSpace = "\u2581"

type spmSymbol struct {
	prev, next int // -1 at the ends
	start, n   int // bytes of the text; n == 0 once merged into the left neighbour
}

type spmBigram struct {
	left, right int
	score       float32
	size        int // bytes of left+right when queued; a mismatch later means stale
}

// spmQueue is a binary max-heap of bigrams: highest score first, then the
// leftmost, as llama.cpp's llm_bigram_spm::comparator orders them.
type spmQueue = bigramHeap[spmBigram]

func (a spmBigram) before(b spmBigram) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.left < b.left
}

// spmEncode appends the tokens of one plain-text fragment, whose spaces are
// already escaped.
func (t *Tokenizer) spmEncode(text string, out []int32) ([]int32, error) {
	syms := make([]spmSymbol, 0, len(text))
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		i := len(syms)
		next := i + 1
		if off+n == len(text) {
			next = -1
		}
		syms = append(syms, spmSymbol{prev: i - 1, next: next, start: off, n: n})
		off += n
	}

	var q spmQueue
	tryAdd := func(left, right int) {
		if left < 0 || right < 0 {
			return
		}
		l, r := syms[left], syms[right]
		id, ok := t.toID[text[l.start:l.start+l.n+r.n]]
		if !ok {
			return
		}
		q.push(spmBigram{left: left, right: right, score: t.scores[id], size: l.n + r.n})
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for len(q) > 0 {
		b := q.pop()
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue // one side has merged since this pair was queued
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		tryAdd(l.prev, b.left)
		tryAdd(b.left, l.next)
	}

	// llama.cpp's resegment also consults a map from merged text to the
	// pair that formed it, but a pair is queued only when its text is a
	// token, so a symbol that is not a token never has an entry there.
	for i := 0; len(syms) > 0 && i != -1; i = syms[i].next {
		s := syms[i]
		piece := text[s.start : s.start+s.n]
		if id, ok := t.toID[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			id := t.byteTok[piece[j]]
			if id < 0 {
				if t.unk < 0 {
					return out, fmt.Errorf("tokenizer: no token for byte 0x%02X and no unknown token", piece[j])
				}
				id = t.unk
			}
			out = append(out, id)
		}
	}
	return out, nil
}

// escapeSpaces is llama_escape_whitespace: ' ' becomes ▁.
func escapeSpaces(s string) string {
	return strings.ReplaceAll(s, " ", escapedSpace)
}
