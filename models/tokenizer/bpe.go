package tokenizer

import "fmt"

// Byte-level BPE as llama.cpp's llm_tokenizer_bpe runs it: the
// pre-tokenizer splits the text into words, each word's UTF-8 bytes are
// mapped to printable runes (GPT-2's bytes_to_unicode), and within a word
// the adjacent pair with the lowest merge rank merges first (leftmost on
// ties) until no pair has a rank. A merged symbol that is not a token
// falls back to its single bytes.

type bpeSymbol struct {
	prev, next int // -1 at the ends
	start, n   int // bytes of the word; n == 0 once merged into the left neighbour
}

type bpeBigram struct {
	left, right int
	rank        int32
	nl, nr      int // sizes of both sides when queued, to spot stale pairs
}

// bpeQueue is a binary min-heap of bigrams: lowest rank first, then the
// leftmost, as llama.cpp's llm_bigram_bpe::comparator orders them.
type bpeQueue = bigramHeap[bpeBigram]

func (a bpeBigram) before(b bpeBigram) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.left < b.left
}

// bpeState is scratch space reused across the words of one Encode call.
type bpeState struct {
	cpts []rune
	word []byte
	key  []byte
	syms []bpeSymbol
	q    bpeQueue
}

// bpeEncode appends the tokens of one plain-text fragment.
func (t *Tokenizer) bpeEncode(text string, out []int32, st *bpeState) ([]int32, error) {
	st.cpts = decodeCpts(text, st.cpts)
	cpts := st.cpts
	lo := 0
	for _, hi := range pretokenize(t.pre.kind, cpts) {
		// Re-encode the word's code points (invalid input is U+FFFD by
		// now) and map each byte to its rune.
		st.word = st.word[:0]
		var utf [4]byte
		for _, r := range cpts[lo:hi] {
			b, ok := appendCpt(utf[:0], r)
			if !ok {
				return out, fmt.Errorf("tokenizer: invalid code point U+%X", r)
			}
			for _, c := range b {
				st.word = append(st.word, byteChars[c]...)
			}
		}
		lo = hi
		out = t.bpeWord(string(st.word), out, st)
	}
	return out, nil
}

// rank returns the merge rank of the pair (a, b), or -1.
func (t *Tokenizer) rank(st *bpeState, a, b string) int32 {
	st.key = append(append(append(st.key[:0], a...), ' '), b...)
	if r, ok := t.ranks[string(st.key)]; ok { // no allocation: map index by converted []byte
		return r
	}
	return -1
}

// addBigram queues the pair (left, right) of st.syms if it has a rank.
func (t *Tokenizer) addBigram(st *bpeState, word string, left, right int) {
	if left < 0 || right < 0 {
		return
	}
	l, r := st.syms[left], st.syms[right]
	rk := t.rank(st, word[l.start:l.start+l.n], word[r.start:r.start+r.n])
	if rk < 0 {
		return
	}
	st.q.push(bpeBigram{left: left, right: right, rank: rk, nl: l.n, nr: r.n})
}

// bpeWord merges one byte-encoded word and appends its tokens.
func (t *Tokenizer) bpeWord(word string, out []int32, st *bpeState) []int32 {
	if t.pre.ignoreMerges {
		if id, ok := t.toID[word]; ok {
			return append(out, id)
		}
	}
	syms := st.syms[:0]
	for off := 0; off < len(word); {
		n := min(utf8Len(word[off]), len(word)-off)
		i := len(syms)
		next := i + 1
		if off+n == len(word) {
			next = -1
		}
		syms = append(syms, bpeSymbol{prev: i - 1, next: next, start: off, n: n})
		off += n
	}
	st.syms = syms

	st.q = st.q[:0]
	for i := 1; i < len(syms); i++ {
		t.addBigram(st, word, i-1, i)
	}
	for len(st.q) > 0 {
		b := st.q.pop()
		l, r := &syms[b.left], &syms[b.right]
		// A symbol only grows by absorbing its right neighbour, so equal
		// sizes mean equal text: llama.cpp's string comparison.
		if l.n == 0 || r.n == 0 || l.n != b.nl || r.n != b.nr {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		t.addBigram(st, word, l.prev, b.left)
		t.addBigram(st, word, b.left, l.next)
	}

	for i := 0; len(syms) > 0 && i != -1; i = syms[i].next {
		s := syms[i]
		piece := word[s.start : s.start+s.n]
		if id, ok := t.toID[piece]; ok {
			out = append(out, id)
			continue
		}
		// llama.cpp looks each raw byte of the encoded text up as a
		// token and drops those that are not.
		for j := 0; j < len(piece); j++ {
			if id := t.byteTok[piece[j]]; id >= 0 {
				out = append(out, id)
			}
		}
	}
	return out
}
