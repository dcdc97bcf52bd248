package tokenizer

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// words runs the package's pre-tokenizer over s.
func words(kind preKind, s string) []string {
	cpts := decodeCpts(s, nil)
	var out []string
	lo := 0
	for _, hi := range pretokenize(kind, cpts) {
		out = append(out, string(cpts[lo:hi]))
		lo = hi
	}
	return out
}

// ws is \s as llama.cpp's tables define it: Unicode White_Space.
const ws = `\t\n\v\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`

// Each pre-tokenizer regex without its trailing \s+(?!\S)|\s+, which Go's
// regexp cannot express; regexSplit adds that part by hand.
var (
	gpt2Head   = regexp.MustCompile(`^(?:'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^` + ws + `\p{L}\p{N}]+)`)
	llama3Head = regexp.MustCompile(`^(?:(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^` + ws + `\p{L}\p{N}]+[\r\n]*|[` + ws + `]*[\r\n]+)`)
	qwen2Head  = regexp.MustCompile(`^(?:(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^` + ws + `\p{L}\p{N}]+[\r\n]*|[` + ws + `]*[\r\n]+)`)
	wsRun      = regexp.MustCompile(`^[` + ws + `]+`)
)

// regexSplit is an independent, slow implementation of a pre-tokenizer
// regex: Go's regexp (leftmost-first, as a backtracking engine chooses)
// tries the alternatives at each position, and the lookahead tail
// \s+(?!\S)|\s+ is written out.
func regexSplit(head *regexp.Regexp, s string) []string {
	var out []string
	for pos := 0; pos < len(s); {
		rest := s[pos:]
		if m := head.FindStringIndex(rest); m != nil && m[1] > 0 {
			out = append(out, rest[:m[1]])
			pos += m[1]
			continue
		}
		if m := wsRun.FindStringIndex(rest); m != nil {
			n := m[1]
			if n < len(rest) { // \s+(?!\S): leave the last space to the next word
				if _, size := utf8.DecodeLastRuneInString(rest[:n]); n > size {
					n -= size
				}
			}
			out = append(out, rest[:n])
			pos += n
			continue
		}
		_, size := utf8.DecodeRuneInString(rest)
		out = append(out, rest[:size])
		pos += size
	}
	return out
}

// splitTexts are the case texts of every reference file plus some edge
// cases of our own.
func splitTexts(t *testing.T) []string {
	texts := []string{
		"", " ", "  ", "a", "'", "''", "'s", "'S", "I'M", "it's'", "x'", "''ll",
		"a  b", "a \n b", "a\n\n b", "trailing  ", " \t\n", "\r\n\r\n", "x \r\n y",
		"1234567", " 12 345", "a1b2", "١٢٣", "Ⅻ", "½",
		"hello!!! world???", " (x)", "\u00a0nbsp\u00a0", "zw\u200bsp", "\u3000全角",
		"e\u0301", "🦙 🦙", "\ufffd", "\U0010FFFF", "tab\t\tx", "\v\f",
	}
	for _, name := range []string{"gpt-2", "llama-bpe", "qwen2"} {
		for _, suffix := range []string{"", ".inp"} {
			for _, c := range loadCases(t, "reference/tokenizer/"+name+suffix+".json") {
				texts = append(texts, c.Text)
			}
		}
	}
	return texts
}

// TestSplitMatchesRegex compares each pre-tokenizer with regexSplit on
// every case text.
func TestSplitMatchesRegex(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind preKind
		head *regexp.Regexp
	}{
		{"gpt-2", preGPT2, gpt2Head},
		{"llama3", preLlama3, llama3Head},
		{"qwen2", preQwen2, qwen2Head},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range splitTexts(t) {
				got, want := words(tc.kind, s), regexSplit(tc.head, s)
				if !slices.Equal(got, want) {
					t.Errorf("%q:\n got %q\nwant %q", s, got, want)
				}
				if strings.Join(got, "") != s {
					t.Errorf("%q: words %q do not cover the text", s, got)
				}
			}
		})
	}
}

// TestSplitByHand pins a few splits worked out by hand from the regexes.
func TestSplitByHand(t *testing.T) {
	for _, tc := range []struct {
		kind preKind
		in   string
		want []string
	}{
		{preGPT2, "Hello  world   with", []string{"Hello", " ", " world", "  ", " with"}},
		{preGPT2, "I'm you're", []string{"I", "'m", " you", "'re"}},
		{preGPT2, "I'M", []string{"I", "'", "M"}}, // gpt-2's contractions are case-sensitive
		{preGPT2, "3.14159", []string{"3", ".", "14159"}},
		{preGPT2, "a\n\n b", []string{"a", "\n\n", " b"}},
		{preGPT2, "end  ", []string{"end", "  "}},
		{preGPT2, "\tfunc() {\n\t\treturn\n}", []string{"\t", "func", "()", " {", "\n\t", "\t", "return", "\n", "}"}},
		{preLlama3, "1234567", []string{"123", "456", "7"}},
		{preLlama3, "Hello\n\n  world", []string{"Hello", "\n\n", " ", " world"}},
		{preLlama3, "I'M (ok)\n", []string{"I", "'M", " (", "ok", ")\n"}},
		{preQwen2, " 123", []string{" ", "1", "2", "3"}},
		{preDefault, "Hello, world! 12345", []string{"Hello", ",", " world", "!", " ", "123", "45"}},
		{preDefault, "a`b$c", []string{"a", "`", "b", "$", "c"}},
	} {
		if got := words(tc.kind, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("kind %d %q: got %q, want %q", tc.kind, tc.in, got, tc.want)
		}
	}
}

// TestDecodeCpts checks llama.cpp's lenient UTF-8 decoding: each byte that
// starts no sequence becomes U+FFFD, surrogates and overlong forms pass.
func TestDecodeCpts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []rune
	}{
		{"aé", []rune{'a', 'é'}},
		{"\xff", []rune{0xFFFD}},
		{"\xe2\x82", []rune{0xFFFD, 0xFFFD}},
		{"\xed\xa0\x80", []rune{0xD800}},
		{"\xc0\x80", []rune{0}},
		{"\x80a", []rune{0xFFFD, 'a'}},
	} {
		if got := decodeCpts(tc.in, nil); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %U, want %U", tc.in, got, tc.want)
		}
	}
}
