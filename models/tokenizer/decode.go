package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// buildPieces renders every token once, as llama.cpp's token-to-piece
// cache does (with special=true); piece only decides whether to show it.
// The pieces share one buffer so a large vocabulary costs two allocations.
func (t *Tokenizer) buildPieces() {
	t.pieceEnd = make([]uint32, len(t.tokens))
	var buf []byte
	for id, text := range t.tokens {
		a := t.attrs[id]
		switch {
		case a&(attrUnknown|attrControl|attrUserDefined) != 0:
			buf = append(buf, text...)
		case a&attrNormal != 0:
			if t.model == modelSPM {
				buf = append(buf, strings.ReplaceAll(text, escapedSpace, " ")...)
			} else {
				buf = appendByteText(buf, text)
			}
		case a&attrByte != 0:
			buf = append(buf, tokenByte(text))
		}
		t.pieceEnd[id] = uint32(len(buf))
	}
	t.pieceBuf = buf
}

// tokenByte is llama.cpp's token_to_byte: the hex digits of "<0xXX>".
func tokenByte(text string) byte {
	var b byte
	for i := 3; i < len(text) && i < 5; i++ {
		c := text[i]
		switch {
		case c >= '0' && c <= '9':
			b = b<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			b = b<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			b = b<<4 | (c - 'A' + 10)
		default:
			return b
		}
	}
	return b
}

// appendByteText undoes GPT-2's bytes_to_unicode for one token, marking
// runes outside the mapping the way llama_decode_text does.
func appendByteText(out []byte, text string) []byte {
	for _, r := range decodeCpts(text, nil) {
		if b, ok := runeToByte[r]; ok {
			out = append(out, b)
			continue
		}
		out = append(out, "[UNK_BYTE_0x"...)
		u, _ := appendCpt(nil, r)
		for _, c := range u {
			out = fmt.Appendf(out, "%02x", c)
		}
		out = append(out, text...)
		out = append(out, ']')
	}
	return out
}

// piece returns the cached rendering of id without copying it.
func (t *Tokenizer) piece(id int32, special bool) []byte {
	if !special && t.attrs[id]&(attrUnknown|attrControl) != 0 {
		return nil
	}
	start := uint32(0)
	if id > 0 {
		start = t.pieceEnd[id-1]
	}
	return t.pieceBuf[start:t.pieceEnd[id]:t.pieceEnd[id]]
}

// Piece returns the bytes of one token as llama_token_to_piece renders it
// for output: SentencePiece's ▁ becomes a space and <0xXX> its byte, BPE
// byte runes become their bytes, and control and unknown tokens render as
// nothing. A piece may be part of a UTF-8 sequence.
func (t *Tokenizer) Piece(id int32) ([]byte, error) {
	return t.RenderPiece(id, false)
}

// RenderPiece is Piece with llama_token_to_piece's special flag: when set,
// control and unknown tokens render as their text ("<|im_end|>").
func (t *Tokenizer) RenderPiece(id int32, special bool) ([]byte, error) {
	if err := t.checkID(id); err != nil {
		return nil, err
	}
	return append([]byte(nil), t.piece(id, special)...), nil
}

// Decode turns ids back into text: the pieces of Piece concatenated, less
// the one space SentencePiece's add_space_prefix put before the text
// (taken from the first token that renders anything). Valid UTF-8 encoded
// without ParseSpecial comes back unchanged, except that SentencePiece
// reads ▁ in the input as a space and puts a space after user-defined
// tokens. Detokenize does exactly what llama_detokenize does instead.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	var b []byte
	strip := t.addSpacePrefix
	for _, id := range ids {
		if err := t.checkID(id); err != nil {
			return "", err
		}
		p := t.piece(id, false)
		if strip && len(p) > 0 {
			if p[0] == ' ' {
				p = p[1:]
			}
			strip = false
		}
		b = append(b, p...)
	}
	return string(b), nil
}

// DetokenizeOptions are llama_detokenize's flags.
type DetokenizeOptions struct {
	RemoveSpecial  bool // drop a leading BOS and a trailing EOS where the vocabulary adds them
	UnparseSpecial bool // render control tokens as their text
}

// Detokenize is llama_detokenize: like Decode, but the leading space is
// stripped from the first token only (after a removed BOS, not at all),
// and BPE vocabularies whose pre-tokenizer asks for it get llama.cpp's
// clean-up of spaces before punctuation and contractions.
func (t *Tokenizer) Detokenize(ids []int32, opt DetokenizeOptions) (string, error) {
	for _, id := range ids {
		if err := t.checkID(id); err != nil {
			return "", err
		}
	}
	removeSpace := t.addSpacePrefix
	if opt.RemoveSpecial && t.addBOS && len(ids) > 0 && ids[0] == t.bos {
		removeSpace = false
		ids = ids[1:]
	}
	if opt.RemoveSpecial && t.addEOS && len(ids) > 0 && ids[len(ids)-1] == t.eos {
		ids = ids[:len(ids)-1]
	}
	var text []byte
	for _, id := range ids {
		p := t.piece(id, opt.UnparseSpecial)
		if removeSpace && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		removeSpace = false
		text = append(text, p...)
	}
	if t.model == modelBPE && t.pre.cleanSpaces {
		text = cleanSpaces(text)
	}
	return string(text), nil
}

// cleanSpaces is llama_detokenize's clean_up_tokenization_spaces, three
// in-place passes ported as they are (including which cases they skip).
func cleanSpaces(text []byte) []byte {
	total := len(text)
	// " ?", " !", " .", " ," lose the space.
	n := total
	total = min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			total--
		}
		text[total] = x
		total++
	}
	// " ' " loses both spaces.
	n = total
	total = min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if x == '\'' && i+1 < n && text[i-1] == ' ' && text[i+1] == ' ' {
			total--
			i++
			text[i] = 0
		}
		text[total] = x
		total++
	}
	// " 's", " 'm", " 're", " 've" lose the space.
	n = total
	total = min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && x == '\'' && i+1 < n {
			x1 := text[i+1]
			switch {
			case x1 == 't' || x1 == 'd':
			case x1 == 's' || x1 == 'm':
				total--
			case i+2 < n:
				x2 := text[i+2]
				if (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e') {
					total--
				}
			}
		}
		text[total] = x
		total++
	}
	return text[:total]
}

// StreamDecoder turns generated ids into text as they arrive, holding back
// the bytes of a UTF-8 sequence that later tokens complete (SentencePiece
// spells rare characters as one <0xXX> token per byte). Pieces render as
// Piece does; a leading space is kept, since generated text continues a
// prompt.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder returns a decoder with nothing pending.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// Next adds one token and returns the text that is now complete, which may
// be empty.
func (d *StreamDecoder) Next(id int32) (string, error) {
	if err := d.t.checkID(id); err != nil {
		return "", err
	}
	d.pending = append(d.pending, d.t.piece(id, false)...)
	n := len(d.pending)
	// A rune is at most 4 bytes, so only the last 3 can start one that is
	// still incomplete. Invalid bytes count as complete and pass through.
	for k := 1; k <= 3 && k <= len(d.pending); k++ {
		if !utf8.FullRune(d.pending[len(d.pending)-k:]) {
			n = len(d.pending) - k
			break
		}
	}
	s := string(d.pending[:n])
	d.pending = d.pending[:copy(d.pending, d.pending[n:])]
	return s, nil
}

// Flush returns whatever is held back, complete or not, and empties the
// decoder.
func (d *StreamDecoder) Flush() string {
	s := string(d.pending)
	d.pending = d.pending[:0]
	return s
}
