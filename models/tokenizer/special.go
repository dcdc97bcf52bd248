package tokenizer

import (
	"cmp"
	"slices"
	"strings"
)

// Token texts llama.cpp treats as ending generation, whatever their stored
// type; it also makes them control tokens (llama_vocab::impl::load).
var eogTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
	"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
	"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
	"<｜end▁of▁sentence｜>", "[e~[",
}

// Fill-in-the-middle token texts, which llama.cpp makes control tokens.
var fimTexts = []string{
	"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
	"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
	"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>",
}

// FIM pad, repository and file-separator texts: control tokens that also
// end generation.
var fimEOGTexts = []string{
	"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
	"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
	"<|file_sep|>",
}

// markSpecial settles token attributes the way llama.cpp does after
// reading the types: recognized texts become control tokens, the
// end-of-generation set is collected, and the special tokens that
// partition the input are listed longest first.
func (t *Tokenizer) markSpecial(v Vocab) {
	t.eog = map[int32]bool{}
	control := func(s string) (int32, bool) {
		id, ok := t.toID[s]
		if ok {
			t.attrs[id] |= attrControl
		}
		return id, ok
	}
	for _, s := range fimTexts {
		control(s)
	}
	for _, s := range fimEOGTexts {
		if id, ok := control(s); ok {
			t.eog[id] = true
		}
	}
	for _, s := range eogTexts {
		if id, ok := control(s); ok {
			t.eog[id] = true
		}
	}
	// gpt-oss: these markers are always rendered, even without special.
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.toID[s]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	if t.eos >= 0 {
		t.eog[t.eos] = true
	}
	for _, id := range v.ExtraEOG {
		t.eog[id] = true
	}
	has := func(s string) (int32, bool) {
		id, ok := t.toID[s]
		return id, ok && t.eog[id]
	}
	// o200k_harmony and solar-open: "<|end|>" ends a message, not generation.
	_, ret := has("<|return|>")
	_, call := has("<|call|>")
	_, calls := has("<|calls|>")
	_, flush := has("<|flush|>")
	if end, ok := has("<|end|>"); ok && ((ret && (call || calls)) || ((call || calls) && flush)) {
		delete(t.eog, end)
		t.attrs[end] = attrUserDefined
	}
	// gemma4 and paddleocr: "</s>" is an ordinary token there.
	if s, ok := has("</s>"); ok {
		if _, tr := has("<|tool_response>"); tr {
			delete(t.eog, s)
			t.attrs[s] = attrNormal
		}
	}

	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.special = append(t.special, int32(id))
		}
	}
	// llama.cpp's std::sort leaves the order of equal lengths unspecified;
	// ids break the tie so the result is at least deterministic.
	slices.SortStableFunc(t.special, func(a, b int32) int {
		return cmp.Compare(len(t.tokens[b]), len(t.tokens[a]))
	})

	// Per-model attributes, keyed off general.name as llama.cpp does.
	name := strings.ToLower(v.Name)
	set := func(s string, a attr, on bool) {
		if id, ok := t.toID[s]; ok {
			if on {
				t.attrs[id] |= a
			} else {
				t.attrs[id] &^= a
			}
		}
	}
	switch {
	case strings.Contains(name, "phi-3") || strings.Contains(name, "phi3"):
		for _, id := range t.special {
			t.attrs[id] |= attrRStrip
		}
		set("</s>", attrRStrip, true)
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			set(s, attrRStrip, false)
		}
	case strings.Contains(name, "modern-bert"):
		set("[MASK]", attrLStrip, true)
	}
}

// fragment is a stretch of the input: plain text [off, off+n) when tok is
// -1, else one special token.
type fragment struct {
	tok    int32
	off, n int
}

// isCSpace is C's isspace in the "C" locale, which llama.cpp uses to strip
// whitespace around special tokens.
func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// partition cuts special-token text out of text, as llama.cpp's
// tokenizer_st_partition: each special token in turn (longest first)
// splits every plain fragment at each of its occurrences. Without
// parseSpecial only user-defined tokens are cut out.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{tok: -1, off: 0, n: len(text)}}
	var next []fragment
	for _, id := range t.special {
		a := t.attrs[id]
		if !parseSpecial && a&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.tokens[id]
		next = next[:0]
		for _, f := range frags {
			if f.tok >= 0 {
				next = append(next, f)
				continue
			}
			off, end := f.off, f.off+f.n
			for off < end {
				i := strings.Index(text[off:end], tok)
				if i < 0 {
					break
				}
				m := off + i
				left := m
				if a&attrLStrip != 0 {
					for left > off && isCSpace(text[left-1]) {
						left--
					}
				}
				if left > off {
					next = append(next, fragment{tok: -1, off: off, n: left - off})
				}
				next = append(next, fragment{tok: id})
				off = m + len(tok)
				if a&attrRStrip != 0 {
					for off < end && isCSpace(text[off]) {
						off++
					}
				}
			}
			if off < end {
				next = append(next, fragment{tok: -1, off: off, n: end - off})
			}
		}
		frags, next = next, frags
	}
	return frags
}
