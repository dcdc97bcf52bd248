package kiln

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"unicode/utf8"

	"github.com/kiln-ml/kiln/models/chat"
	"github.com/kiln-ml/kiln/models/tokenizer"
)

// Info is a model's metadata.
type Info struct {
	Arch         string `json:"arch"`          // general.architecture
	Name         string `json:"name"`          // general.name
	ContextTrain int    `json:"context_train"` // the context length the model was trained with
	Context      int    `json:"context"`       // the KV cache length of this Model's sessions
	VocabSize    int    `json:"vocab_size"`
	Layers       int    `json:"layers"`
	Embd         int    `json:"embd"`
	Heads        int    `json:"heads"`
	KVHeads      int    `json:"kv_heads"`
	Params       int64  `json:"params"`
	BOS          int32  `json:"bos"` // -1 when the vocabulary has none
	EOS          int32  `json:"eos"`
	// ChatTemplate is tokenizer.chat_template, empty when the file has none.
	ChatTemplate string `json:"chat_template,omitempty"`
}

// Info returns the model's metadata.
func (m *Model) Info() Info {
	h := m.Hyper()
	tmpl, _ := m.File.String("tokenizer.chat_template")
	return Info{
		Arch: h.Arch, Name: h.Name, ContextTrain: h.NCtxTrain, Context: m.Ctx, VocabSize: h.NVocab,
		Layers: h.NLayer, Embd: h.NEmbd, Heads: h.NHead, KVHeads: h.NKVHead, Params: m.ParamCount(),
		BOS: m.Tok.BOS(), EOS: m.Tok.EOS(), ChatTemplate: tmpl,
	}
}

// Tokenize turns a prompt into ids as llama.cpp's tools do: special-token
// text ("<|im_start|>") becomes the special token, and BOS is added where
// the vocabulary asks for it, unless the text already starts with the BOS
// token's text (chat templates often write it themselves).
func (m *Model) Tokenize(text string) ([]int32, error) {
	addBOS := true
	if bos := m.Tok.BOS(); bos >= 0 && m.Tok.AddBOS() {
		if b := m.Tok.Token(bos); b != "" && strings.HasPrefix(text, b) {
			addBOS = false
		}
	}
	return m.Tok.Encode(text, tokenizer.EncodeOptions{AddBOS: addBOS, ParseSpecial: true})
}

// Detokenize turns ids back into text: special tokens as their text, less
// the BOS (and EOS) that Tokenize adds, so Detokenize(Tokenize(s)) is s.
func (m *Model) Detokenize(ids []int32) (string, error) {
	return m.Tok.Detokenize(ids, tokenizer.DetokenizeOptions{RemoveSpecial: true, UnparseSpecial: true})
}

// Logits evaluates tokens in one pass from position 0 on a fresh session and
// returns a row of NVocab logits for every token.
func (m *Model) Logits(tokens []int32) ([][]float32, error) {
	s, err := m.NewSession()
	if err != nil {
		return nil, err
	}
	flat, err := s.Eval(tokens, true)
	if err != nil {
		return nil, err
	}
	nv := m.Hyper().NVocab
	flat = append([]float32(nil), flat...)
	rows := make([][]float32, len(tokens))
	for i := range rows {
		rows[i] = flat[i*nv : (i+1)*nv : (i+1)*nv]
	}
	return rows, nil
}

// ChatTemplate compiles the file's tokenizer.chat_template with the
// vocabulary's BOS and EOS text. A file without one gives chat.ErrNoTemplate;
// pass chat.ChatML to NewChatTemplate to use ChatML instead.
func (m *Model) ChatTemplate() (*chat.Template, error) {
	src, err := m.File.String("tokenizer.chat_template")
	if err != nil || src == "" {
		return nil, chat.ErrNoTemplate
	}
	return m.NewChatTemplate(src)
}

// NewChatTemplate compiles a chat template's Jinja source with this model's
// BOS and EOS text.
func (m *Model) NewChatTemplate(src string) (*chat.Template, error) {
	var opt chat.Options
	if id := m.Tok.BOS(); id >= 0 {
		opt.BOS = m.Tok.Token(id)
	}
	if id := m.Tok.EOS(); id >= 0 {
		opt.EOS = m.Tok.Token(id)
	}
	return chat.New(src, opt)
}

// Tokens returns the ids the session has evaluated, in order. The slice is
// the session's own: valid until the next Eval, Rewind or Reset.
func (s *Session) Tokens() []int32 { return s.hist }

// Rewind keeps the first n evaluated tokens and forgets the rest, so the
// next Eval continues at position n. Cache entries past n are overwritten
// before they are read again, so nothing needs clearing.
func (s *Session) Rewind(n int) error {
	if n < 0 || n > s.pos {
		return fmt.Errorf("rewind: %d is outside [0, %d]", n, s.pos)
	}
	s.pos = n
	s.hist = s.hist[:n]
	return nil
}

// GenerateOptions configure GenerateText.
type GenerateOptions struct {
	// MaxTokens caps the tokens generated; 0 means until the context is full.
	MaxTokens int
	// Sampler chooses each token; the zero value is greedy.
	Sampler SamplerOptions
	// Stop ends generation before the first occurrence of any of these
	// strings; the stop string itself is not returned.
	Stop []string
}

// GenerationStats describe a session's most recent GenerateText.
type GenerationStats struct {
	PromptTokens int // tokens in the prompt
	Reused       int // prompt tokens whose cache entries were already there
	Tokens       int // tokens generated
	// FinishReason is "stop" (an end-of-generation token or a stop string),
	// "length" (MaxTokens or the context reached), or "" (error or cancel).
	FinishReason string
}

// ErrPromptTooLong is returned (wrapped) when a prompt does not fit the context.
var ErrPromptTooLong = errors.New("prompt too long")

// GenerateText tokenizes prompt, evaluates the part of it the session has
// not already seen (a prompt that extends the session's tokens, as the next
// turn of a chat does, reuses their cache), and yields the generated text in
// pieces as it is sampled. Cancelling ctx ends it with ctx's error.
func (s *Session) GenerateText(ctx context.Context, prompt string, opt GenerateOptions) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		s.last = GenerationStats{}
		ids, err := s.m.Tokenize(prompt)
		if err != nil {
			yield("", err)
			return
		}
		s.last.PromptTokens = len(ids)
		if len(ids) == 0 {
			yield("", fmt.Errorf("generate: the prompt has no tokens"))
			return
		}
		if len(ids) >= s.m.Ctx {
			yield("", fmt.Errorf("generate: %w: %d tokens, the context holds %d", ErrPromptTooLong, len(ids), s.m.Ctx))
			return
		}
		// Reuse the common prefix, but evaluate at least one token: its
		// logits choose the first generated token.
		p := 0
		for p < len(ids)-1 && p < len(s.hist) && s.hist[p] == ids[p] {
			p++
		}
		if err := s.Rewind(p); err != nil {
			yield("", err)
			return
		}
		s.last.Reused = p
		smp := NewSampler(opt.Sampler)
		for _, id := range ids[:p] {
			smp.Accept(id)
		}
		n := s.m.Ctx - len(ids)
		if opt.MaxTokens > 0 {
			n = min(n, opt.MaxTokens)
		}
		dec := s.m.Tok.NewStreamDecoder()
		stop := stopper{stops: opt.Stop}
		for id, err := range s.Generate(ctx, ids[p:], n, smp) {
			if err != nil {
				yield("", err)
				return
			}
			s.last.Tokens++
			piece, err := dec.Next(id)
			if err != nil {
				yield("", err)
				return
			}
			out, hit := stop.add(piece)
			if out != "" && !yield(out, nil) {
				return
			}
			if hit {
				s.last.FinishReason = "stop"
				return
			}
		}
		out, hit := stop.add(dec.Flush())
		if !hit {
			out += stop.flush()
		}
		if out != "" && !yield(out, nil) {
			return
		}
		if hit || s.last.Tokens < n {
			s.last.FinishReason = "stop"
		} else {
			s.last.FinishReason = "length"
		}
	}
}

// LastGeneration describes the session's most recent GenerateText.
func (s *Session) LastGeneration() GenerationStats { return s.last }

// stopper holds back text that could be the start of a stop string.
type stopper struct {
	stops   []string
	pending string
}

// add appends text and returns what is safe to show, and whether a stop
// string was found (the text before it is returned; the rest is dropped).
func (st *stopper) add(text string) (string, bool) {
	if len(st.stops) == 0 {
		return text, false
	}
	st.pending += text
	cut := -1
	for _, stop := range st.stops {
		if stop == "" {
			continue
		}
		if i := strings.Index(st.pending, stop); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		out := st.pending[:cut]
		st.pending = ""
		return out, true
	}
	// Keep the longest tail that is a proper prefix of some stop string.
	keep := 0
	for _, stop := range st.stops {
		for k := min(len(stop)-1, len(st.pending)); k > keep; k-- {
			// Hold back whole runes only, so what is shown stays valid UTF-8.
			if strings.HasSuffix(st.pending, stop[:k]) && utf8.RuneStart(st.pending[len(st.pending)-k]) {
				keep = k
				break
			}
		}
	}
	out := st.pending[:len(st.pending)-keep]
	st.pending = st.pending[len(st.pending)-keep:]
	return out, false
}

func (st *stopper) flush() string {
	s := st.pending
	st.pending = ""
	return s
}
