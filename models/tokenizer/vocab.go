// Package tokenizer turns text into token ids and back exactly as
// llama.cpp does for SentencePiece ("llama") and byte-level BPE ("gpt2")
// vocabularies stored in GGUF files.
//
// Encoding follows llama_tokenize: special-token text is cut out of the
// input first (tokenizer_st_partition), then each stretch of plain text is
// tokenized on its own: SentencePiece merges adjacent symbols by score;
// BPE splits the text into words with the vocabulary's pre-tokenizer
// regex, maps bytes to printable runes (GPT-2's bytes_to_unicode) and
// merges by rank. Decoding follows llama_token_to_piece.
package tokenizer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln/models/gguf"
)

// Vocab is a tokenizer vocabulary as GGUF stores it under tokenizer.ggml.*.
// New takes every field literally; FromGGUF fills in llama.cpp's defaults
// for keys a file leaves out.
type Vocab struct {
	Model string // tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE)
	// Pre is tokenizer.ggml.pre ("default", "gpt-2", "llama-bpe", "qwen2",
	// ...), "" when absent. Only BPE uses it; llama.cpp ignores it for
	// SentencePiece, and so does New.
	Pre    string
	Tokens []string  // tokenizer.ggml.tokens; an id is an index
	Scores []float32 // tokenizer.ggml.scores, SentencePiece merge priorities; may be nil
	// Types are llama token types: 1 normal, 2 unknown, 3 control,
	// 4 user-defined, 5 unused, 6 byte; nil means all normal.
	Types  []int32
	Merges []string // tokenizer.ggml.merges, BPE merges "a b" in rank order

	BOS, EOS, UNK, PAD int32 // -1 when absent
	AddBOS, AddEOS     bool  // whether Encode with AddBOS adds BOS / EOS
	// AddSpacePrefix (SentencePiece) puts a space before text that starts
	// the input or follows a special token: tokenizer.ggml.add_space_prefix,
	// true by default for the llama model.
	AddSpacePrefix bool

	// Name is general.name. llama.cpp keys a few per-token attributes off
	// it: every special token of a Phi-3 model swallows the whitespace
	// after it.
	Name string
	// ExtraEOG lists end-of-generation ids beyond EOS: end-of-turn,
	// end-of-message and FIM pad/repo/separator tokens named by their
	// keys. Tokens whose text llama.cpp recognizes ("<|eot_id|>",
	// "<|im_end|>", ...) are added without being listed.
	ExtraEOG []int32
}

// token attributes, numbered as llama.cpp's llama_token_attr.
type attr uint16

const (
	attrUnknown     attr = 1 << 0
	attrUnused      attr = 1 << 1
	attrNormal      attr = 1 << 2
	attrControl     attr = 1 << 3
	attrUserDefined attr = 1 << 4
	attrByte        attr = 1 << 5
	attrLStrip      attr = 1 << 7
	attrRStrip      attr = 1 << 8
)

// llama token types (tokenizer.ggml.token_type).
const (
	typeNormal      = 1
	typeUnknown     = 2
	typeControl     = 3
	typeUserDefined = 4
	typeUnused      = 5
	typeByte        = 6
)

type modelKind uint8

const (
	modelSPM modelKind = iota
	modelBPE
)

// Tokenizer encodes and decodes text for one vocabulary. It is safe for
// concurrent use.
type Tokenizer struct {
	model  modelKind
	pre    preInfo
	tokens []string
	scores []float32
	attrs  []attr
	toID   map[string]int32
	ranks  map[string]int32 // "left right" -> merge rank

	bos, eos, unk, pad             int32
	addBOS, addEOS, addSpacePrefix bool

	eog     map[int32]bool
	special []int32 // tokens cut out of the input before tokenizing, longest first

	// llama_token_to_piece with special=true: piece id is
	// pieceBuf[pieceEnd[id-1]:pieceEnd[id]].
	pieceBuf []byte
	pieceEnd []uint32

	byteTok [256]int32 // SPM: <0xXX> (or the byte itself); BPE: the one-byte string; -1 if none
}

// New checks v and builds its tokenizer.
func New(v Vocab) (*Tokenizer, error) {
	t := &Tokenizer{
		bos: v.BOS, eos: v.EOS, unk: v.UNK, pad: v.PAD,
		addBOS: v.AddBOS, addEOS: v.AddEOS, addSpacePrefix: v.AddSpacePrefix,
	}
	switch v.Model {
	case "llama":
		t.model = modelSPM // llama.cpp ignores tokenizer.ggml.pre for SentencePiece
	case "gpt2":
		t.model = modelBPE
		p, err := lookupPre(v.Pre)
		if err != nil {
			return nil, err
		}
		t.pre = p
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q (tokenizer.ggml.model)", v.Model)
	}
	n := len(v.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: empty vocabulary (tokenizer.ggml.tokens)")
	}
	if n > 1<<31-1 {
		return nil, fmt.Errorf("tokenizer: %d tokens do not fit int32 ids", n)
	}
	if v.Scores != nil && len(v.Scores) < n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens (tokenizer.ggml.scores)", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens (tokenizer.ggml.token_type)", len(v.Types), n)
	}

	t.tokens = make([]string, n)
	t.scores = make([]float32, n)
	t.attrs = make([]attr, n)
	t.toID = make(map[string]int32, n)
	for i, w := range v.Tokens {
		if w == "" {
			w = fmt.Sprintf("[EMPTY_%d]", i) // as llama.cpp, so the id still has a unique text
		}
		if j, dup := t.toID[w]; dup {
			return nil, fmt.Errorf("tokenizer: duplicate token %q has ids %d and %d", w, j, i)
		}
		t.toID[w] = int32(i)
		t.tokens[i] = w
		if v.Scores != nil {
			t.scores[i] = v.Scores[i]
		}
		t.attrs[i] = attrNormal
		if v.Types != nil {
			t.attrs[i] = typeAttr(v.Types[i])
		}
	}

	for _, id := range []struct {
		name string
		id   int32
	}{{"BOS", v.BOS}, {"EOS", v.EOS}, {"UNK", v.UNK}, {"PAD", v.PAD}} {
		if id.id < -1 || int(id.id) >= n {
			return nil, fmt.Errorf("tokenizer: %s id %d out of range [0,%d)", id.name, id.id, n)
		}
	}
	for _, id := range v.ExtraEOG {
		if id < 0 || int(id) >= n {
			return nil, fmt.Errorf("tokenizer: end-of-generation id %d out of range [0,%d)", id, n)
		}
	}
	if v.AddBOS && v.BOS < 0 {
		return nil, errors.New("tokenizer: AddBOS is set but there is no BOS token")
	}
	if v.AddEOS && v.EOS < 0 {
		return nil, errors.New("tokenizer: AddEOS is set but there is no EOS token")
	}

	if t.model == modelBPE {
		t.ranks = make(map[string]int32, len(v.Merges))
		for i, m := range v.Merges {
			// llama.cpp splits at the first space after the first byte, so
			// a merge may start with a space but needs one to split at.
			k := strings.IndexByte(m[min(1, len(m)):], ' ') + 1
			if k <= 0 || k == len(m)-1 {
				return nil, fmt.Errorf("tokenizer: merge %d %q is not of the form \"a b\" (tokenizer.ggml.merges)", i, m)
			}
			if _, ok := t.ranks[m]; !ok {
				t.ranks[m] = int32(i)
			}
		}
	}

	t.markSpecial(v)
	t.buildPieces()

	for b := range 256 {
		t.byteTok[b] = -1
		var keys []string
		if t.model == modelSPM {
			keys = []string{fmt.Sprintf("<0x%02X>", b), string([]byte{byte(b)})}
		} else {
			keys = []string{string([]byte{byte(b)})}
		}
		for _, k := range keys {
			if id, ok := t.toID[k]; ok {
				t.byteTok[b] = id
				break
			}
		}
	}
	return t, nil
}

func typeAttr(ty int32) attr {
	switch ty {
	case typeNormal:
		return attrNormal
	case typeUnknown:
		return attrUnknown
	case typeControl:
		return attrControl
	case typeUserDefined:
		return attrUserDefined
	case typeUnused:
		return attrUnused
	case typeByte:
		return attrByte
	}
	return 0 // undefined: renders as nothing, like llama.cpp
}

// GGUF keys FromGGUF reads.
const (
	keyModel          = "tokenizer.ggml.model"
	keyPre            = "tokenizer.ggml.pre"
	keyTokens         = "tokenizer.ggml.tokens"
	keyScores         = "tokenizer.ggml.scores"
	keyTypes          = "tokenizer.ggml.token_type"
	keyMerges         = "tokenizer.ggml.merges"
	keyBOS            = "tokenizer.ggml.bos_token_id"
	keyEOS            = "tokenizer.ggml.eos_token_id"
	keyUNK            = "tokenizer.ggml.unknown_token_id"
	keyPAD            = "tokenizer.ggml.padding_token_id"
	keyEOT            = "tokenizer.ggml.eot_token_id"
	keyEOM            = "tokenizer.ggml.eom_token_id"
	keyFIMPad         = "tokenizer.ggml.fim_pad_token_id"
	keyFIMRep         = "tokenizer.ggml.fim_rep_token_id"
	keyFIMSep         = "tokenizer.ggml.fim_sep_token_id"
	keyAddBOS         = "tokenizer.ggml.add_bos_token"
	keyAddEOS         = "tokenizer.ggml.add_eos_token"
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	keyName           = "general.name"
)

// FromGGUF reads the tokenizer.ggml.* keys of f, applies llama.cpp's
// defaults for the ones that are absent, and builds the tokenizer.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	v, err := VocabFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return New(v)
}

// VocabFromGGUF reads the vocabulary of f as FromGGUF does, without
// building a tokenizer.
func VocabFromGGUF(f *gguf.File) (Vocab, error) {
	var v Vocab
	var err error
	if v.Model, err = f.String(keyModel); err != nil {
		return v, fmt.Errorf("tokenizer: %w", err)
	}
	opt := func(err error) error {
		if err != nil && !errors.Is(err, gguf.ErrMissingKey) {
			return fmt.Errorf("tokenizer: %w", err)
		}
		return nil
	}
	if v.Pre, err = f.String(keyPre); opt(err) != nil {
		return v, opt(err)
	}
	if v.Name, err = f.String(keyName); opt(err) != nil {
		return v, opt(err)
	}
	if v.Tokens, err = f.Strings(keyTokens); err != nil {
		return v, fmt.Errorf("tokenizer: %w", err)
	}
	n := len(v.Tokens)
	if v.Scores, err = f.Float32s(keyScores); err != nil {
		if errors.Is(err, gguf.ErrMissingKey) {
			v.Scores = nil
		} else if is, ierr := f.Int32s(keyScores); ierr == nil { // llama.cpp also takes int32 scores
			v.Scores = make([]float32, len(is))
			for i, s := range is {
				v.Scores[i] = float32(s)
			}
		} else {
			return v, fmt.Errorf("tokenizer: %w", err)
		}
	}
	if v.Types, err = f.Int32s(keyTypes); opt(err) != nil {
		return v, opt(err)
	}

	// Defaults by model, as llama_vocab::impl::load sets them.
	v.BOS, v.EOS, v.UNK, v.PAD = -1, -1, -1, -1
	switch v.Model {
	case "llama":
		v.BOS, v.EOS, v.UNK = 1, 2, 0
		v.AddBOS, v.AddSpacePrefix = true, true
	case "gpt2":
		if v.Merges, err = f.Strings(keyMerges); err != nil {
			return v, fmt.Errorf("tokenizer: %w", err)
		}
		v.BOS, v.EOS = 11, 11
		if p, err := lookupPre(v.Pre); err == nil {
			v.AddBOS = p.addBOS
		}
	default:
		return v, fmt.Errorf("tokenizer: unsupported tokenizer model %q (%s)", v.Model, keyModel)
	}
	for _, p := range []*int32{&v.BOS, &v.EOS, &v.UNK, &v.PAD} {
		if int(*p) >= n {
			*p = -1
		}
	}

	if v.AddSpacePrefix, err = boolKey(f, keyAddSpacePrefix, v.AddSpacePrefix); err != nil {
		return v, err
	}
	// An id past the vocabulary keeps the default, as in llama.cpp
	// (stories260K stores padding_token_id = 2^32-1); so does a negative
	// one, which some converters write for "none".
	ids := []struct {
		key string
		p   *int32
	}{{keyBOS, &v.BOS}, {keyEOS, &v.EOS}, {keyUNK, &v.UNK}, {keyPAD, &v.PAD}}
	for _, k := range ids {
		i, err := f.Int(k.key)
		if opt(err) != nil {
			return v, opt(err)
		}
		if err == nil && i >= 0 && i < int64(n) {
			*k.p = int32(i)
		}
	}
	for _, key := range []string{keyEOT, keyEOM, keyFIMPad, keyFIMRep, keyFIMSep} {
		i, err := f.Int(key)
		if opt(err) != nil {
			return v, opt(err)
		}
		if err == nil && i >= 0 && i < int64(n) {
			v.ExtraEOG = append(v.ExtraEOG, int32(i))
		}
	}
	if v.AddBOS, err = boolKey(f, keyAddBOS, v.AddBOS); err != nil {
		return v, err
	}
	if v.AddEOS, err = boolKey(f, keyAddEOS, v.AddEOS); err != nil {
		return v, err
	}
	return v, nil
}

func boolKey(f *gguf.File, key string, def bool) (bool, error) {
	b, err := f.Bool(key)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, gguf.ErrMissingKey):
		return def, nil
	}
	return def, fmt.Errorf("tokenizer: %w", err)
}

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence id, or -1.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence id, or -1.
func (t *Tokenizer) EOS() int32 { return t.eos }

// AddBOS reports whether the vocabulary asks for BOS at the start of a
// prompt (what Encode does with EncodeOptions.AddBOS).
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// IsEOG reports whether id ends generation: EOS, end-of-turn tokens and the
// others llama.cpp collects in special_eog_ids.
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// EOGs returns the end-of-generation ids in increasing order.
func (t *Tokenizer) EOGs() []int32 {
	ids := make([]int32, 0, len(t.eog))
	for id := range t.eog {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Token returns the stored text of id (with SentencePiece's ▁ and GPT-2's
// byte runes as they are), or "" when id is out of range.
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Lookup returns the id of the token whose stored text is s.
func (t *Tokenizer) Lookup(s string) (int32, bool) {
	id, ok := t.toID[s]
	return id, ok
}

// IsControl reports whether id is a control token (BOS, EOS, chat markers),
// which Piece renders as nothing.
func (t *Tokenizer) IsControl(id int32) bool {
	return id >= 0 && int(id) < len(t.attrs) && t.attrs[id]&attrControl != 0
}

func (t *Tokenizer) checkID(id int32) error {
	if id < 0 || int(id) >= len(t.tokens) {
		return fmt.Errorf("tokenizer: token id %d out of range [0,%d)", id, len(t.tokens))
	}
	return nil
}
