package tokenizer

import (
	"fmt"
	"unicode"
)

// Byte-level BPE vocabularies split text into words before merging. The
// splitting rules are regular expressions with lookaheads (\s+(?!\S)), which
// Go's regexp cannot express, so each one is written out by hand the way
// llama.cpp's unicode.cpp does it: a scan over code points that tries the
// alternatives in order, as a backtracking engine would.

// preKind names a pre-tokenizer algorithm.
type preKind uint8

const (
	preNone    preKind = iota // SentencePiece: no word splitting
	preDefault                // llama.cpp's BPE fallback: four regexes in sequence
	preGPT2                   // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
	preLlama3                 // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
	preQwen2                  // as preLlama3 with \p{N} instead of \p{N}{1,3}
)

// preInfo is what a tokenizer.ggml.pre name selects, with the flags
// llama.cpp sets alongside it in llama_vocab::impl::load.
type preInfo struct {
	kind         preKind
	ignoreMerges bool // a word that is already a token is not merged
	addBOS       bool // default for tokenizer.ggml.add_bos_token
	cleanSpaces  bool // llama_detokenize's clean_up_tokenization_spaces
}

// bpePre lists the pre-tokenizer names this package supports for BPE
// vocabularies. Names that llama.cpp maps to the same regex share a row.
var bpePre = map[string]preInfo{
	"default": {kind: preDefault, cleanSpaces: true},

	"gpt-2":           {kind: preGPT2, cleanSpaces: true},
	"phi-2":           {kind: preGPT2, cleanSpaces: true},
	"jina-es":         {kind: preGPT2, cleanSpaces: true},
	"jina-de":         {kind: preGPT2, cleanSpaces: true},
	"gigachat":        {kind: preGPT2, cleanSpaces: true},
	"jina-v2-es":      {kind: preGPT2, cleanSpaces: true},
	"jina-v2-de":      {kind: preGPT2, cleanSpaces: true},
	"a.x-4.0":         {kind: preGPT2, cleanSpaces: true},
	"mellum":          {kind: preGPT2, cleanSpaces: true},
	"modern-bert":     {kind: preGPT2, cleanSpaces: true},
	"mpt":             {kind: preGPT2, cleanSpaces: true},
	"olmo":            {kind: preGPT2, cleanSpaces: true},
	"jais":            {kind: preGPT2, cleanSpaces: true},
	"exaone4":         {kind: preGPT2, cleanSpaces: true},
	"trillion":        {kind: preGPT2},
	"granite-docling": {kind: preGPT2},

	"llama3":       {kind: preLlama3, ignoreMerges: true, addBOS: true, cleanSpaces: true},
	"llama-v3":     {kind: preLlama3, ignoreMerges: true, addBOS: true, cleanSpaces: true},
	"llama-bpe":    {kind: preLlama3, ignoreMerges: true, addBOS: true, cleanSpaces: true},
	"falcon3":      {kind: preLlama3, ignoreMerges: true, addBOS: true, cleanSpaces: true},
	"falcon-h1":    {kind: preLlama3, ignoreMerges: true, addBOS: true, cleanSpaces: true},
	"pixtral":      {kind: preLlama3, ignoreMerges: true, addBOS: true, cleanSpaces: true},
	"midm-2.0":     {kind: preLlama3, ignoreMerges: true, addBOS: true, cleanSpaces: true},
	"lfm2":         {kind: preLlama3, ignoreMerges: true, addBOS: true, cleanSpaces: true},
	"jina-v5-nano": {kind: preLlama3, ignoreMerges: true, addBOS: true, cleanSpaces: true},
	"dbrx":         {kind: preLlama3, cleanSpaces: true},
	"smaug-bpe":    {kind: preLlama3, cleanSpaces: true},

	"qwen2":            {kind: preQwen2},
	"deepseek-r1-qwen": {kind: preQwen2},
	"kormo":            {kind: preQwen2},
	"f2llmv2":          {kind: preQwen2},
	"megrez":           {kind: preQwen2, cleanSpaces: true},
	"stablelm2":        {kind: preQwen2, cleanSpaces: true},
	"hunyuan":          {kind: preQwen2},
	"solar-open":       {kind: preQwen2},
}

// lookupPre resolves a BPE pre-tokenizer name. llama.cpp treats a missing
// name as "default" (with a loud warning); an unknown one is an error.
func lookupPre(name string) (preInfo, error) {
	if name == "" {
		name = "default"
	}
	p, ok := bpePre[name]
	if !ok {
		return preInfo{}, fmt.Errorf("tokenizer: unknown pre-tokenizer %q (tokenizer.ggml.pre)", name)
	}
	return p, nil
}

// cpt flags, the subset of llama.cpp's unicode_cpt_flags the splitters use.
const (
	flagNumber = 1 << iota
	flagLetter
	flagPunct
	flagSpace
	flagInRange // the position is inside the fragment; llama.cpp's flags.as_uint() != 0
)

// isWhiteSpace is llama.cpp's whitespace set: Python regex \s over Unicode,
// which is the Unicode White_Space property (U+001C..U+001F are not in it).
func isWhiteSpace(r rune) bool {
	switch {
	case r == ' ' || (r >= '\t' && r <= '\r'):
		return true
	case r < 0x80:
		return false
	}
	return unicode.Is(unicode.White_Space, r)
}

// asciiFlags caches the flags of the ASCII code points, which are most of
// the text the splitters see.
var asciiFlags = func() (t [128]uint8) {
	for r := rune(0); r < 128; r++ {
		t[r] = cptFlagsSlow(r)
	}
	return t
}()

func cptFlagsSlow(r rune) uint8 {
	f := uint8(flagInRange)
	if r > unicode.MaxRune {
		return f // llama.cpp: UNDEFINED, which is none of the classes below
	}
	if isWhiteSpace(r) {
		f |= flagSpace
	}
	switch {
	case unicode.IsLetter(r):
		f |= flagLetter
	case unicode.IsNumber(r):
		f |= flagNumber
	case unicode.IsPunct(r):
		f |= flagPunct
	}
	return f
}

func cptFlags(r rune) uint8 {
	if r >= 0 && r < 128 {
		return asciiFlags[r]
	}
	return cptFlagsSlow(r)
}

// outOfRange stands for a position past either end of a fragment.
const outOfRange = rune(-1)

// splitter holds one fragment of code points and collects word ends.
type splitter struct {
	cpts     []rune
	lo, hi   int   // the fragment being split
	prevEnd  int   // end of the last word emitted
	ends     []int // word ends, as code point indices into cpts
	maxDigit int   // llama3: 3, qwen2: 1
}

func (s *splitter) cpt(pos int) rune {
	if pos >= s.lo && pos < s.hi {
		return s.cpts[pos]
	}
	return outOfRange
}

func (s *splitter) flags(pos int) uint8 {
	if pos >= s.lo && pos < s.hi {
		return cptFlags(s.cpts[pos])
	}
	return 0
}

// add ends a word at end and returns its length in code points.
func (s *splitter) add(end int) int {
	n := end - s.prevEnd
	if n > 0 {
		s.ends = append(s.ends, end)
	}
	s.prevEnd = end
	return n
}

// contraction matches 's|'t|'re|'ve|'m|'ll|'d at pos (ASCII case folded
// when fold is set) and returns its length, or 0.
func (s *splitter) contraction(pos int, fold bool) int {
	if s.cpts[pos] != '\'' || pos+1 >= s.hi {
		return 0
	}
	lower := func(r rune) rune {
		if fold && r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	c1 := lower(s.cpt(pos + 1))
	switch c1 {
	case 's', 't', 'm', 'd':
		return 2
	}
	if pos+2 < s.hi {
		c2 := lower(s.cpt(pos + 2))
		if (c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l') {
			return 3
		}
	}
	return 0
}

// whitespace handles the tail alternatives shared by every regex here:
// \s+(?!\S)|\s+ (and, for llama3, \s*[\r\n]+ before them). It returns the
// new position, or pos when nothing matched.
func (s *splitter) whitespace(pos int, newlines bool) int {
	n, lastNL := 0, -1
	for s.flags(pos+n)&flagSpace != 0 {
		if c := s.cpt(pos + n); newlines && (c == '\r' || c == '\n') {
			lastNL = pos + n + 1
		}
		n++
	}
	switch {
	case lastNL >= 0: // \s*[\r\n]+
		pos = lastNL
	case n > 1 && s.cpt(pos+n) != outOfRange: // \s+(?!\S): leave one space for the next word
		pos += n - 1
	case n > 0: // \s+
		pos += n
	default:
		return pos
	}
	s.add(pos)
	return pos
}

// gpt2 splits [lo,hi) with the GPT-2 regex.
func (s *splitter) gpt2() {
	for pos := s.lo; pos < s.hi; {
		c := s.cpts[pos]
		f := s.flags(pos)
		if n := s.contraction(pos, false); n > 0 {
			pos += s.add(pos + n)
			continue
		}
		f2 := f
		if c == ' ' {
			f2 = s.flags(pos + 1)
		}
		switch {
		case f2&flagLetter != 0: // ' ?\p{L}+'
			if c == ' ' {
				pos++
			}
			for s.flags(pos)&flagLetter != 0 {
				pos++
			}
			s.add(pos)
			continue
		case f2&flagNumber != 0: // ' ?\p{N}+'
			if c == ' ' {
				pos++
			}
			for s.flags(pos)&flagNumber != 0 {
				pos++
			}
			s.add(pos)
			continue
		case isOther(f2): // ' ?[^\s\p{L}\p{N}]+'
			if c == ' ' {
				pos++
			}
			for isOther(s.flags(pos)) {
				pos++
			}
			s.add(pos)
			continue
		}
		if p := s.whitespace(pos, false); p != pos {
			pos = p
			continue
		}
		pos++
		s.add(pos)
	}
}

// isOther reports [^\s\p{L}\p{N}] for a position inside the fragment.
func isOther(f uint8) bool {
	return f&(flagSpace|flagLetter|flagNumber) == 0 && f&flagInRange != 0
}

// llama3 splits [lo,hi) with the Llama 3 regex (Qwen2's when maxDigit is 1).
func (s *splitter) llama3() {
	for pos := s.lo; pos < s.hi; {
		c := s.cpts[pos]
		f := s.flags(pos)
		if n := s.contraction(pos, true); n > 0 {
			pos += s.add(pos + n)
			continue
		}
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if !(c == '\r' || c == '\n' || f&flagNumber != 0) {
			if f&flagLetter != 0 || s.flags(pos+1)&flagLetter != 0 {
				pos++
				for s.flags(pos)&flagLetter != 0 {
					pos++
				}
				s.add(pos)
				continue
			}
		}
		// \p{N}{1,3}
		if f&flagNumber != 0 {
			ini := pos
			for s.flags(pos)&flagNumber != 0 {
				pos++
				if pos-ini >= s.maxDigit {
					s.add(pos)
					ini = pos
				}
			}
			s.add(pos)
			continue
		}
		// ' ?[^\s\p{L}\p{N}]+[\r\n]*'. llama.cpp checks that the current
		// code point (not the next) is in range, so a space that ends the
		// fragment becomes a word by itself here, as \s+ would make it.
		f2 := f
		if c == ' ' {
			f2 = s.flags(pos + 1)
		}
		if f2&(flagSpace|flagLetter|flagNumber) == 0 {
			if c == ' ' {
				pos++
			}
			for isOther(s.flags(pos)) {
				pos++
			}
			for c2 := s.cpt(pos); c2 == '\r' || c2 == '\n'; c2 = s.cpt(pos) {
				pos++
			}
			s.add(pos)
			continue
		}
		if p := s.whitespace(pos, true); p != pos {
			pos = p
			continue
		}
		pos++
		s.add(pos)
	}
}

// splitRuns splits each fragment into maximal runs of code points that
// match in and the gaps between them, as std::regex_iterator does with a
// "[class]+" regex.
func splitRuns(cpts []rune, ends []int, in func(rune) bool) []int {
	out := make([]int, 0, len(ends))
	lo := 0
	for _, hi := range ends {
		for i := lo; i < hi; {
			m := in(cpts[i])
			j := i + 1
			for j < hi && in(cpts[j]) == m {
				j++
			}
			out = append(out, j)
			i = j
		}
		lo = hi
	}
	return out
}

// splitTriples splits each fragment around non-overlapping runs of three
// ASCII digits, scanning left to right: "[0-9][0-9][0-9]".
func splitTriples(cpts []rune, ends []int) []int {
	digit := func(r rune) bool { return r >= '0' && r <= '9' }
	out := make([]int, 0, len(ends))
	lo := 0
	for _, hi := range ends {
		gap := lo
		for i := lo; i < hi; {
			if i+3 <= hi && digit(cpts[i]) && digit(cpts[i+1]) && digit(cpts[i+2]) {
				if gap < i {
					out = append(out, i)
				}
				i += 3
				out = append(out, i)
				gap = i
				continue
			}
			i++
		}
		if gap < hi {
			out = append(out, hi)
		}
		lo = hi
	}
	return out
}

// defaultPunct is "[\p{P}\$\+<=>\^~\|]" as llama.cpp evaluates it: on
// collapsed text, where ASCII keeps its own class list (which leaves out
// the backquote) and other code points stand for their category.
func defaultPunct(r rune) bool {
	if r < 0x80 {
		switch r {
		case '!', '"', '#', '%', '&', '\'', '(', ')', '*', ',', '-', '.', '/', ':', ';', '?', '@',
			'[', '\\', ']', '_', '{', '}', '$', '+', '<', '=', '>', '^', '~', '|':
			return true
		}
		return false
	}
	return cptFlags(r)&(flagSpace|flagPunct) == flagPunct
}

// defaultNumber is "\p{N}" on collapsed text.
func defaultNumber(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return cptFlags(r)&(flagSpace|flagNumber) == flagNumber
}

// pretokenize splits cpts into words and returns the end of each word as a
// code point index.
func pretokenize(kind preKind, cpts []rune) []int {
	if len(cpts) == 0 {
		return nil
	}
	s := &splitter{cpts: cpts}
	switch kind {
	case preGPT2:
		s.hi = len(cpts)
		s.gpt2()
		return s.ends
	case preLlama3, preQwen2:
		s.maxDigit = 3
		if kind == preQwen2 {
			s.maxDigit = 1
		}
		s.hi = len(cpts)
		s.llama3()
		return s.ends
	case preDefault:
		ends := splitRuns(cpts, []int{len(cpts)}, defaultPunct)
		s.ends = make([]int, 0, len(ends))
		lo := 0
		for _, hi := range ends {
			s.lo, s.hi, s.prevEnd = lo, hi, lo
			s.gpt2()
			lo = hi
		}
		ends = splitRuns(cpts, s.ends, defaultNumber)
		return splitTriples(cpts, ends)
	}
	return []int{len(cpts)}
}

// decodeCpts decodes UTF-8 the way llama.cpp's unicode_cpts_from_utf8 does:
// lead bytes decide the length, continuation bytes are checked, overlong
// forms and surrogates pass, and each byte that starts no valid sequence
// becomes U+FFFD. A sequence past U+10FFFF becomes one U+FFFD.
func decodeCpts(s string, buf []rune) []rune {
	buf = buf[:0]
	for i := 0; i < len(s); {
		b := s[i]
		cont := func(k int) bool { return i+k < len(s) && s[i+k]&0xC0 == 0x80 }
		switch {
		case b < 0x80:
			buf = append(buf, rune(b))
			i++
			continue
		case b&0x40 == 0:
		case b&0x20 == 0:
			if cont(1) {
				buf = append(buf, rune(b&0x1F)<<6|rune(s[i+1]&0x3F))
				i += 2
				continue
			}
		case b&0x10 == 0:
			if cont(1) && cont(2) {
				buf = append(buf, rune(b&0x0F)<<12|rune(s[i+1]&0x3F)<<6|rune(s[i+2]&0x3F))
				i += 3
				continue
			}
		case b&0x08 == 0:
			if cont(1) && cont(2) && cont(3) {
				r := rune(b&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F)
				if r > unicode.MaxRune {
					// llama.cpp decodes these (lead bytes F5..F7) and then
					// throws when it re-encodes them; one U+FFFD is kinder.
					r = 0xFFFD
				}
				buf = append(buf, r)
				i += 4
				continue
			}
		}
		buf = append(buf, 0xFFFD)
		i++
	}
	return buf
}

// appendCpt encodes r as llama.cpp's unicode_cpt_to_utf8 does, which
// (unlike utf8.AppendRune) keeps surrogates. It reports false for code
// points past U+10FFFF, where llama.cpp throws.
func appendCpt(b []byte, r rune) ([]byte, bool) {
	switch {
	case r < 0:
		return b, false
	case r <= 0x7F:
		return append(b, byte(r)), true
	case r <= 0x7FF:
		return append(b, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F), true
	case r <= 0xFFFF:
		return append(b, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F), true
	case r <= 0x10FFFF:
		return append(b, 0xF0|byte(r>>18), 0x80|byte(r>>12)&0x3F, 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F), true
	}
	return b, false
}

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length a lead
// byte announces, without checking what follows.
func utf8Len(b byte) int {
	return [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[b>>4]
}

// byteToRune is GPT-2's bytes_to_unicode: printable bytes map to
// themselves, the rest to U+0100 upwards in byte order.
var byteToRune, runeToByte = func() (b2r [256]rune, r2b map[rune]byte) {
	r2b = make(map[rune]byte, 256)
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = 256 + n
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// byteChars holds the UTF-8 of byteToRune, so encoding a word is one
// append per byte.
var byteChars = func() (t [256]string) {
	for b := range t {
		t[b] = string(byteToRune[b])
	}
	return t
}()
