package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/chat"
)

// request is what both endpoints take, after decoding and checking. The
// JSON follows OpenAI's API; fields this server does not use are ignored,
// as llama-server ignores them, so standard clients work unchanged.
type request struct {
	Prompt    string         // /v1/completions
	Messages  []chat.Message // /v1/chat/completions
	MaxTokens int            // 0: until the context is full
	Stream    bool
	Sampler   kiln.SamplerOptions
	SeedSet   bool
	Stop      []string
}

// wireRequest is the JSON as clients send it. Pointers tell "absent" from zero.
type wireRequest struct {
	Model               string          `json:"model"`
	Prompt              json.RawMessage `json:"prompt"`
	Messages            []wireMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stream              bool            `json:"stream"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *int            `json:"top_k"`
	MinP                *float64        `json:"min_p"`
	RepeatPenalty       *float64        `json:"repeat_penalty"`
	RepeatLastN         *int            `json:"repeat_last_n"`
	Seed                *int64          `json:"seed"`
	Stop                json.RawMessage `json:"stop"`
	N                   *int            `json:"n"`
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// Limits on what a request may ask for.
const (
	maxStops      = 16
	maxStopLen    = 256
	maxMessages   = 4096
	maxTokensCap  = 1 << 20
	maxRoleLength = 64
)

// errBadRequest marks errors that are the client's fault (HTTP 400).
var errBadRequest = errors.New("invalid request")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// decodeRequest reads one JSON request. chatMode selects which of prompt or
// messages is required. Every error wraps errBadRequest and says what is wrong.
func decodeRequest(r io.Reader, chatMode bool) (*request, error) {
	dec := json.NewDecoder(r)
	var w wireRequest
	if err := dec.Decode(&w); err != nil {
		if tooLarge(err) {
			return nil, err
		}
		return nil, badf("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if tooLarge(err) {
			return nil, err
		}
		return nil, badf("malformed JSON: data after the request object")
	}
	req := &request{Stream: w.Stream, Sampler: kiln.DefaultSampler()}
	if chatMode {
		if len(w.Prompt) > 0 {
			return nil, badf("chat completions take messages, not prompt")
		}
		if len(w.Messages) == 0 {
			return nil, badf("messages: at least one message is required")
		}
		if len(w.Messages) > maxMessages {
			return nil, badf("messages: %d messages, at most %d", len(w.Messages), maxMessages)
		}
		for i, m := range w.Messages {
			if m.Role == "" || len(m.Role) > maxRoleLength {
				return nil, badf("messages[%d]: role must be a non-empty string of at most %d bytes", i, maxRoleLength)
			}
			text, err := messageText(m.Content)
			if err != nil {
				return nil, badf("messages[%d].content: %v", i, err)
			}
			req.Messages = append(req.Messages, chat.Message{Role: m.Role, Content: text})
		}
	} else {
		if len(w.Messages) > 0 {
			return nil, badf("completions take prompt, not messages")
		}
		p, err := promptText(w.Prompt)
		if err != nil {
			return nil, badf("prompt: %v", err)
		}
		req.Prompt = p
	}
	switch {
	case w.MaxTokens != nil && w.MaxCompletionTokens != nil && *w.MaxTokens != *w.MaxCompletionTokens:
		return nil, badf("max_tokens and max_completion_tokens disagree")
	case w.MaxTokens != nil:
		req.MaxTokens = *w.MaxTokens
	case w.MaxCompletionTokens != nil:
		req.MaxTokens = *w.MaxCompletionTokens
	case !chatMode:
		req.MaxTokens = 16 // OpenAI's default for completions
	}
	if req.MaxTokens < 0 || req.MaxTokens > maxTokensCap {
		return nil, badf("max_tokens %d must be in [0, %d] (0: until the context is full)", req.MaxTokens, maxTokensCap)
	}
	if w.N != nil && *w.N != 1 {
		return nil, badf("n %d: only one choice per request is supported", *w.N)
	}
	s := &req.Sampler
	if w.Temperature != nil {
		if t := *w.Temperature; !(t >= 0 && t <= 100) {
			return nil, badf("temperature %v must be in [0, 100]", t)
		}
		s.Temp = float32(*w.Temperature)
	}
	if w.TopP != nil {
		if p := *w.TopP; !(p >= 0 && p <= 1) {
			return nil, badf("top_p %v must be in [0, 1]", p)
		}
		s.TopP = float32(*w.TopP)
	}
	if w.MinP != nil {
		if p := *w.MinP; !(p >= 0 && p <= 1) {
			return nil, badf("min_p %v must be in [0, 1]", p)
		}
		s.MinP = float32(*w.MinP)
	}
	if w.TopK != nil {
		if *w.TopK < 0 {
			return nil, badf("top_k %d must not be negative", *w.TopK)
		}
		s.TopK = *w.TopK
	}
	if w.RepeatPenalty != nil {
		if p := *w.RepeatPenalty; !(float32(p) > 0 && p <= 100) {
			return nil, badf("repeat_penalty %v must be in (0, 100]", p)
		}
		s.RepeatPenalty = float32(*w.RepeatPenalty)
	}
	if w.RepeatLastN != nil {
		if n := *w.RepeatLastN; n < 0 || n > maxTokensCap {
			return nil, badf("repeat_last_n %d must be in [0, %d]", n, maxTokensCap)
		}
		s.RepeatLastN = *w.RepeatLastN
	}
	if w.Seed != nil {
		s.Seed = uint64(*w.Seed)
		req.SeedSet = true
	}
	stops, err := stopList(w.Stop)
	if err != nil {
		return nil, badf("stop: %v", err)
	}
	req.Stop = stops
	return req, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// promptText accepts a string or an array holding one string.
func promptText(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", errors.New("required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", errors.New("must be a string or an array of one string (token arrays are not supported)")
	}
	if len(list) != 1 {
		return "", fmt.Errorf("%d prompts: only one per request is supported", len(list))
	}
	return list[0], nil
}

// messageText accepts a string or an array of {"type":"text","text":...} parts.
func messageText(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil // an assistant turn with tool calls only has no content
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("must be a string or an array of text parts")
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", fmt.Errorf("part %d: type %q: only text parts are supported", i, p.Type)
		}
		b.WriteString(*p.Text)
	}
	return b.String(), nil
}

// stopList accepts null, a string, or an array of strings.
func stopList(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var list []string
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		list = []string{s}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("must be a string or an array of strings")
	}
	if len(list) > maxStops {
		return nil, fmt.Errorf("%d stop strings, at most %d", len(list), maxStops)
	}
	for i, s := range list {
		if s == "" || len(s) > maxStopLen {
			return nil, fmt.Errorf("stop[%d] must be 1 to %d bytes", i, maxStopLen)
		}
	}
	return list, nil
}

func tooLarge(err error) bool {
	var e *http.MaxBytesError
	return errors.As(err, &e)
}
