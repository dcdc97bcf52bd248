package tokenizer

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kiln-ml/kiln/models/gguf"
)

// TestPerplexityTokens checks long texts against the token lists llama.cpp's
// perplexity tool stored: a 60 KB Go file through gocoder's byte-level BPE
// and WikiText through stories260K's SentencePiece, both with BOS.
func TestPerplexityTokens(t *testing.T) {
	for _, tc := range []struct{ ref, model, text string }{
		{"gocoder-11m-q8_0.nethttp-60k.json", "models/gocoder-11m-q8_0.gguf", "data/nethttp-60k.txt"},
		{"stories260K-f32.ppl_1k.json", "models/stories260K-f32.gguf", "data/ppl_1k.txt"},
		{"stories260K-f32.wikitext2_test_20k.json", "models/stories260K-f32.gguf", "data/wikitext2_test_20k.txt"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			data, err := os.ReadFile(sharedFile(t, "reference/ppl/"+tc.ref))
			if err != nil {
				t.Fatal(err)
			}
			var ref struct {
				Tokens []int32 `json:"tokens"`
			}
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			text, err := os.ReadFile(sharedFile(t, tc.text))
			if err != nil {
				t.Fatal(err)
			}
			// llama-perplexity drops one trailing newline.
			s := strings.TrimSuffix(string(text), "\n")
			tk := loadGGUF(t, tc.model)
			got, err := tk.Encode(s, EncodeOptions{AddBOS: true})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, ref.Tokens) {
				i := 0
				for i < min(len(got), len(ref.Tokens)) && got[i] == ref.Tokens[i] {
					i++
				}
				t.Fatalf("%d tokens, want %d; first difference at %d: got %v, want %v",
					len(got), len(ref.Tokens), i, got[i:min(i+8, len(got))], ref.Tokens[i:min(i+8, len(ref.Tokens))])
			}
		})
	}
}

// TestRoundTrip checks Decode(Encode(text)) == text for every case text on
// gocoder (byte-level BPE, gpt-2 pre-tokenizer) and stories260K
// (SentencePiece with byte fallback).
func TestRoundTrip(t *testing.T) {
	var texts []string
	for _, name := range []string{"gpt-2", "llama-spm", "llama-bpe", "qwen2", "phi-3"} {
		for _, suffix := range []string{"", ".inp"} {
			for _, c := range loadCases(t, "reference/tokenizer/"+name+suffix+".json") {
				texts = append(texts, c.Text)
			}
		}
	}
	for _, model := range []string{"models/gocoder-11m-q8_0.gguf", "models/stories260K-f32.gguf"} {
		tk := loadGGUF(t, model)
		for _, s := range texts {
			ids, err := tk.Encode(s, EncodeOptions{})
			if err != nil {
				t.Fatalf("%s: Encode(%q): %v", model, s, err)
			}
			got, err := tk.Decode(ids)
			if err != nil {
				t.Fatalf("%s: Decode: %v", model, err)
			}
			if got != s {
				t.Errorf("%s: %q -> %v -> %q", model, s, ids, got)
			}
		}
	}
}

func TestStories260K(t *testing.T) {
	tk := loadGGUF(t, "models/stories260K-f32.gguf")
	if tk.VocabSize() != 512 || tk.BOS() != 1 || tk.EOS() != 2 || !tk.AddBOS() {
		t.Fatalf("vocab %d, BOS %d, EOS %d, AddBOS %v", tk.VocabSize(), tk.BOS(), tk.EOS(), tk.AddBOS())
	}
	ids, err := tk.Encode("Once upon a time", EncodeOptions{AddBOS: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 2 || ids[0] != 1 {
		t.Fatalf("Encode with BOS = %v, want 1 first", ids)
	}
	if !tk.IsEOG(2) || tk.IsEOG(1) {
		t.Errorf("IsEOG(2) = %v, IsEOG(1) = %v", tk.IsEOG(2), tk.IsEOG(1))
	}
	if s, _ := tk.Decode(ids); s != "Once upon a time" {
		t.Errorf("Decode = %q", s)
	}
	// llama_detokenize keeps the space when it removes BOS.
	if s, _ := tk.Detokenize(ids, DetokenizeOptions{RemoveSpecial: true}); s != " Once upon a time" {
		t.Errorf("Detokenize = %q", s)
	}
	if s, _ := tk.Detokenize(ids[1:], DetokenizeOptions{}); s != "Once upon a time" {
		t.Errorf("Detokenize without BOS = %q", s)
	}
	if s, _ := tk.Detokenize([]int32{1, 2}, DetokenizeOptions{UnparseSpecial: true}); s != "<s></s>" {
		t.Errorf("Detokenize special = %q", s)
	}
}

// TestStreamDecoder feeds a llama emoji, which SentencePiece spells as
// four byte tokens, and expects the whole rune once.
func TestStreamDecoder(t *testing.T) {
	tk := loadGGUF(t, "models/llama-2-tiny-random-f16.gguf")
	text := "Hi 🦙!"
	ids, err := tk.Encode(text, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := tk.NewStreamDecoder()
	var out []string
	var b strings.Builder
	for _, id := range ids {
		s, err := d.Next(id)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(s) {
			t.Errorf("Next(%d) = %q: not valid UTF-8", id, s)
		}
		out = append(out, s)
		b.WriteString(s)
	}
	b.WriteString(d.Flush())
	if b.String() != " "+text {
		t.Errorf("stream %q, want %q", b.String(), " "+text)
	}
	if n := strings.Count(strings.Join(out, "|"), "🦙"); n != 1 {
		t.Errorf("pieces %q: emoji appears %d times", out, n)
	}
	bytes := 0
	for _, id := range ids {
		if p, _ := tk.Piece(id); len(p) == 1 && p[0] >= 0x80 {
			bytes++
		}
	}
	if bytes != 4 {
		t.Errorf("emoji took %d byte tokens, want 4 (ids %v)", bytes, ids)
	}

	// An incomplete sequence comes out of Flush as it is.
	d = tk.NewStreamDecoder()
	f0, _ := tk.Lookup("<0xF0>")
	if s, _ := d.Next(f0); s != "" {
		t.Errorf("Next(<0xF0>) = %q", s)
	}
	if s := d.Flush(); s != "\xf0" {
		t.Errorf("Flush = %q", s)
	}
}

func TestOutOfRange(t *testing.T) {
	tk := loadGGUF(t, "models/stories260K-f32.gguf")
	for _, id := range []int32{-1, 512, 1 << 30} {
		if _, err := tk.Decode([]int32{5, id}); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("Decode(%d): err = %v", id, err)
		}
		if _, err := tk.Piece(id); err == nil {
			t.Errorf("Piece(%d): no error", id)
		}
		if _, err := tk.NewStreamDecoder().Next(id); err == nil {
			t.Errorf("StreamDecoder.Next(%d): no error", id)
		}
		if _, err := tk.Detokenize([]int32{id}, DetokenizeOptions{}); err == nil {
			t.Errorf("Detokenize(%d): no error", id)
		}
	}
}

// smallBPE is a byte-level BPE vocabulary small enough to write out: every
// byte, a few merges, and <|endoftext|> as BOS/EOS.
func smallBPE(pre string) Vocab {
	v := Vocab{Model: "gpt2", Pre: pre, BOS: 0, EOS: 0, UNK: -1, PAD: -1}
	v.Tokens = append(v.Tokens, "<|endoftext|>")
	v.Types = append(v.Types, typeControl)
	for b := range 256 {
		v.Tokens = append(v.Tokens, byteChars[b])
		v.Types = append(v.Types, typeNormal)
	}
	for _, m := range []string{"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "Ġa n", "Ġan d", "e r", "Ġ Ġ", "ĠĠ ĠĠ", "Ċ ĉ", "f u", "fu n", "fun c"} {
		v.Merges = append(v.Merges, m)
		a, b, _ := strings.Cut(m, " ")
		if !slices.Contains(v.Tokens, a+b) {
			v.Tokens = append(v.Tokens, a+b)
			v.Types = append(v.Types, typeNormal)
		}
	}
	return v
}

// smallSPM is a SentencePiece vocabulary with byte fallback.
func smallSPM() Vocab {
	v := Vocab{Model: "llama", BOS: 1, EOS: 2, UNK: 0, PAD: -1, AddBOS: true, AddSpacePrefix: true}
	add := func(s string, score float32, ty int32) {
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, ty)
	}
	add("<unk>", 0, typeUnknown)
	add("<s>", 0, typeControl)
	add("</s>", 0, typeControl)
	for b := range 256 {
		add(byteToken(byte(b)), 0, typeByte)
	}
	for i, s := range []string{"▁", "e", "t", "h", "a", "▁t", "he", "▁the", "▁a", "n", "d", "an", "▁and", "o", "▁o", "on", "ce", "▁once", "▁an", "▁on"} {
		add(s, -float32(i), typeNormal)
	}
	return v
}

func byteToken(b byte) string {
	const hex = "0123456789ABCDEF"
	return "<0x" + string(hex[b>>4]) + string(hex[b&15]) + ">"
}

func TestSmallVocabs(t *testing.T) {
	bpe, err := New(smallBPE("gpt-2"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := bpe.Encode("the and<|endoftext|>", EncodeOptions{ParseSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	the, _ := bpe.Lookup("the")
	and, _ := bpe.Lookup("Ġand")
	if h, _ := bpe.Lookup("he"); !slices.Equal(ids, []int32{bpe.byteTok['t'], h, and, 0}) {
		t.Errorf("Encode = %v (the=%d)", ids, the)
	}
	if !bpe.IsEOG(0) || !bpe.IsControl(0) {
		t.Errorf("<|endoftext|> should be a control EOG token")
	}
	// gpt-2 pre-tokenization cleans spaces in llama_detokenize only.
	ids, _ = bpe.Encode("a , b 's", EncodeOptions{})
	if s, _ := bpe.Decode(ids); s != "a , b 's" {
		t.Errorf("Decode = %q", s)
	}
	if s, _ := bpe.Detokenize(ids, DetokenizeOptions{}); s != "a, b's" {
		t.Errorf("Detokenize = %q", s)
	}

	spm, err := New(smallSPM())
	if err != nil {
		t.Fatal(err)
	}
	ids, err = spm.Encode("the and once é", EncodeOptions{AddBOS: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{1}
	for _, s := range []string{"▁the", "▁and", "▁once", "▁"} {
		id, _ := spm.Lookup(s)
		want = append(want, id)
	}
	want = append(want, spm.byteTok[0xC3], spm.byteTok[0xA9])
	if !slices.Equal(ids, want) {
		t.Errorf("Encode = %v, want %v", ids, want)
	}
	if s, _ := spm.Decode(ids); s != "the and once é" {
		t.Errorf("Decode = %q", s)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Vocab)
		want string
	}{
		{"unknown pre", func(v *Vocab) { v.Pre = "klingon-bpe" }, `"klingon-bpe"`},
		{"unknown model", func(v *Vocab) { v.Model = "wordpiece" }, `"wordpiece"`},
		{"BOS out of range", func(v *Vocab) { v.BOS = 100000 }, "BOS id 100000"},
		{"EOS below -1", func(v *Vocab) { v.EOS = -2 }, "EOS id -2"},
		{"bad merge", func(v *Vocab) { v.Merges = append(v.Merges, "nospace") }, `"nospace"`},
		{"duplicate", func(v *Vocab) { v.Tokens[5] = v.Tokens[6] }, "duplicate token"},
		{"short types", func(v *Vocab) { v.Types = v.Types[:3] }, "token types"},
		{"AddBOS without BOS", func(v *Vocab) { v.BOS, v.AddBOS = -1, true }, "AddBOS"},
		{"no tokens", func(v *Vocab) { v.Tokens, v.Types = nil, nil }, "empty vocabulary"},
	} {
		v := smallBPE("gpt-2")
		tc.edit(&v)
		_, err := New(v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %s", tc.name, err, tc.want)
		}
	}
	for _, pre := range []string{"", "default", "gpt-2", "llama-bpe", "llama3", "qwen2"} {
		if _, err := New(smallBPE(pre)); err != nil {
			t.Errorf("pre %q: %v", pre, err)
		}
	}
}

func TestFromGGUF(t *testing.T) {
	tk := loadGGUF(t, "models/gocoder-11m-q8_0.gguf")
	if tk.VocabSize() != 4096 || tk.BOS() != 0 || !tk.AddBOS() || tk.pre.kind != preGPT2 {
		t.Fatalf("gocoder: vocab %d, BOS %d, AddBOS %v, pre %d", tk.VocabSize(), tk.BOS(), tk.AddBOS(), tk.pre.kind)
	}
	qwen := loadGGUF(t, "vocab/ggml-vocab-qwen2.gguf")
	if qwen.AddBOS() {
		t.Errorf("qwen2 should not add BOS by default")
	}
	for _, s := range []string{"<|im_end|>", "<|endoftext|>"} {
		if id, ok := qwen.Lookup(s); !ok || !qwen.IsEOG(id) {
			t.Errorf("qwen2 %s: EOG %v", s, qwen.IsEOG(id))
		}
	}
	if id, _ := qwen.Lookup("<|im_start|>"); qwen.IsEOG(id) {
		t.Errorf("<|im_start|> is not EOG")
	}
	llama3 := loadGGUF(t, "vocab/ggml-vocab-llama-bpe.gguf")
	if !llama3.AddBOS() || llama3.BOS() != 128000 {
		t.Errorf("llama-bpe: AddBOS %v, BOS %d", llama3.AddBOS(), llama3.BOS())
	}
	if id, _ := llama3.Lookup("<|eot_id|>"); !llama3.IsEOG(id) {
		t.Errorf("<|eot_id|> is not EOG")
	}
}

// ggufOf builds an in-memory GGUF file holding kvs.
func ggufOf(t *testing.T, kvs map[string]any) *gguf.File {
	t.Helper()
	var list []gguf.KV
	for _, k := range slices.Sorted(maps.Keys(kvs)) {
		list = append(list, gguf.KV{Key: k, Value: gguf.MustValueOf(kvs[k])})
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, 3, list, nil, 0); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFromGGUFKeys(t *testing.T) {
	v := smallBPE("gpt-2")
	base := func() map[string]any {
		return map[string]any{
			"tokenizer.ggml.model":        "gpt2",
			"tokenizer.ggml.pre":          "gpt-2",
			"tokenizer.ggml.tokens":       v.Tokens,
			"tokenizer.ggml.token_type":   v.Types,
			"tokenizer.ggml.merges":       v.Merges,
			"tokenizer.ggml.bos_token_id": uint32(0),
			"tokenizer.ggml.eos_token_id": uint32(0),
		}
	}
	tk, err := FromGGUF(ggufOf(t, base()))
	if err != nil {
		t.Fatal(err)
	}
	direct, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"the and func", "x\n\ty"} {
		a, _ := tk.Encode(s, EncodeOptions{AddBOS: true})
		b, _ := direct.Encode(s, EncodeOptions{AddBOS: true})
		if !slices.Equal(a, b) {
			t.Errorf("%q: FromGGUF %v, New %v", s, a, b)
		}
	}
	if tk.AddBOS() {
		t.Errorf("gpt-2 pre should not add BOS without add_bos_token")
	}

	for _, tc := range []struct {
		edit func(map[string]any)
		want string
	}{
		{func(m map[string]any) { delete(m, "tokenizer.ggml.model") }, "tokenizer.ggml.model"},
		{func(m map[string]any) { delete(m, "tokenizer.ggml.tokens") }, "tokenizer.ggml.tokens"},
		{func(m map[string]any) { delete(m, "tokenizer.ggml.merges") }, "tokenizer.ggml.merges"},
		{func(m map[string]any) { m["tokenizer.ggml.tokens"] = []int32{1, 2} }, "tokenizer.ggml.tokens"},
		{func(m map[string]any) { m["tokenizer.ggml.add_bos_token"] = "yes" }, "tokenizer.ggml.add_bos_token"},
		{func(m map[string]any) { m["tokenizer.ggml.pre"] = "klingon" }, "klingon"},
		{func(m map[string]any) { m["tokenizer.ggml.model"] = "t5" }, "t5"},
	} {
		m := base()
		tc.edit(m)
		_, err := FromGGUF(ggufOf(t, m))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want mention of %s", err, tc.want)
		}
	}

	// An id past the vocabulary keeps llama.cpp's default.
	m := base()
	m["tokenizer.ggml.eos_token_id"] = uint32(1 << 31)
	m["tokenizer.ggml.padding_token_id"] = int32(-1)
	m["tokenizer.ggml.eot_token_id"] = uint32(3)
	tk, err = FromGGUF(ggufOf(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if tk.EOS() != 11 || tk.pad != -1 || !tk.IsEOG(3) || !tk.IsEOG(11) {
		t.Errorf("EOS = %d, PAD = %d, EOG %v; want the default 11, -1 and EOT 3", tk.EOS(), tk.pad, tk.EOGs())
	}
}

func BenchmarkEncodeGoBPE(b *testing.B) {
	benchmarkEncode(b, "models/gocoder-11m-q8_0.gguf")
}

func BenchmarkEncodeGoSPM(b *testing.B) {
	benchmarkEncode(b, "models/llama-2-tiny-random-f16.gguf")
}

// benchmarkEncode encodes 60 KB of Go source.
func benchmarkEncode(b *testing.B, model string) {
	text, err := os.ReadFile(sharedFile(b, "data/nethttp-60k.txt"))
	if err != nil {
		b.Fatal(err)
	}
	tk := loadGGUF(b, model)
	b.SetBytes(int64(len(text)))
	n := 0
	for b.Loop() {
		ids, err := tk.Encode(string(text), EncodeOptions{AddBOS: true})
		if err != nil {
			b.Fatal(err)
		}
		n += len(ids)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tok/s")
}
