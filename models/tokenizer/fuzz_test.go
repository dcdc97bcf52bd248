package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{"", "the and", "a  b\n\n c", "I'm 123,456", "<|endoftext|>x", "🦙\u00a0é", "\xff\xfe", "\xed\xa0\x80", "▁x",
	"<s>[INST] hi [/INST]", "<|im_start|>user\nhi<|im_end|>", "func main() {\n\tfmt.Println(\"hi\")\n}", "  \t\r\n 3.14e-10 ÀÉÎ ΑΒΓ 日本語"}

// FuzzEncode encodes arbitrary strings with small vocabularies of every
// kind (byte-level BPE with each pre-tokenizer, SentencePiece).
func FuzzEncode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	var toks []*Tokenizer
	for _, pre := range []string{"gpt-2", "llama-bpe", "qwen2", "default"} {
		tk, err := New(smallBPE(pre))
		if err != nil {
			f.Fatal(err)
		}
		toks = append(toks, tk)
	}
	spm, err := New(smallSPM())
	if err != nil {
		f.Fatal(err)
	}
	toks = append(toks, spm)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tk := range toks {
			checkEncode(t, tk, s)
		}
	})
}

// FuzzEncodeShared runs every real vocabulary in ../shared on each input:
// Llama 2 SentencePiece, Phi-3, Llama 3 and Qwen2 byte-level BPE, and the
// gpt-2 pre-tokenizer of gocoder-11m, with stories260K's small SentencePiece.
func FuzzEncodeShared(f *testing.F) {
	files := []string{
		"models/llama-2-tiny-random-f16.gguf",
		"vocab/ggml-vocab-phi-3.gguf",
		"vocab/ggml-vocab-llama-bpe.gguf",
		"vocab/ggml-vocab-qwen2.gguf",
		"models/gocoder-11m-q8_0.gguf",
		"models/stories260K-f32.gguf",
	}
	var toks []*Tokenizer
	for _, file := range files {
		toks = append(toks, loadGGUF(f, file))
	}
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, rv := range refVocabs {
		for _, c := range loadCases(f, "reference/tokenizer/"+rv.name+".json") {
			f.Add(c.Text)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tk := range toks {
			checkEncode(t, tk, s)
		}
	})
}

// checkEncode encodes s in every mode. It must never fail or panic, every
// id must be in the vocabulary, and valid UTF-8 encoded without special
// parsing must decode back unchanged, in one piece and streamed.
func checkEncode(t *testing.T, tk *Tokenizer, s string) {
	for _, special := range []bool{false, true} {
		ids, err := tk.Encode(s, EncodeOptions{AddBOS: true, ParseSpecial: special})
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		for _, id := range ids {
			if id < 0 || int(id) >= tk.VocabSize() {
				t.Fatalf("Encode(%q): id %d outside the vocabulary of %d", s, id, tk.VocabSize())
			}
		}
		if _, err := tk.Decode(ids); err != nil {
			t.Fatal(err)
		}
		if _, err := tk.Detokenize(ids, DetokenizeOptions{RemoveSpecial: true, UnparseSpecial: special}); err != nil {
			t.Fatal(err)
		}
	}
	ids, _ := tk.Encode(s, EncodeOptions{})
	got, _ := tk.Decode(ids)
	// SentencePiece reads ▁ in the input as a space and puts a space after
	// user-defined tokens; see Decode.
	roundTrips := utf8.ValidString(s) && (tk.model == modelBPE || (!strings.Contains(s, escapedSpace) && !hasUserDefined(tk, ids)))
	if roundTrips && got != s {
		t.Errorf("%q -> %v -> %q", s, ids, got)
	}
	d := tk.NewStreamDecoder()
	var b strings.Builder
	for _, id := range ids {
		p, _ := d.Next(id)
		b.WriteString(p)
	}
	b.WriteString(d.Flush())
	// The stream keeps the space SentencePiece puts in front.
	want := s
	if tk.addSpacePrefix && s != "" {
		want = " " + s
	}
	if roundTrips && b.String() != want {
		t.Errorf("stream %q, want %q", b.String(), want)
	}
}

func hasUserDefined(tk *Tokenizer, ids []int32) bool {
	for _, id := range ids {
		if tk.attrs[id]&attrUserDefined != 0 {
			return true
		}
	}
	return false
}
