// Package serve is kiln's OpenAI-compatible HTTP API: /v1/chat/completions
// and /v1/completions (whole responses or server-sent events), /v1/models
// and /health, answered by a fixed number of sessions that share one loaded
// model. Requests beyond that number wait in a bounded queue; a client that
// disconnects cancels its generation and frees its session.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/chat"
)

// Config configures a Server.
type Config struct {
	Model *kiln.Model
	// ModelID names the model in /v1/models and in responses.
	ModelID string
	// Template formats chat messages; nil makes /v1/chat/completions
	// answer 400 with a message saying the model has no chat template.
	Template *chat.Template
	// Stop strings end every generation, in addition to each request's own
	// (the ChatML fallback on a model whose vocabulary lacks <|im_end|>).
	Stop []string
	// Parallel is the number of sessions generating at once (default 1).
	Parallel int
	// MaxQueue is how many requests may wait for a session; more are
	// refused with 503 (default 64).
	MaxQueue int
	// MaxBodyBytes caps a request body (default 1 MiB); larger gets 413.
	MaxBodyBytes int64
	// Log receives one line per request error; nil discards.
	Log *log.Logger
}

// Server answers the API. It is an http.Handler.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	sessions chan *kiln.Session
	created  int64
	nextID   atomic.Uint64
	waiting  atomic.Int64
	// Counters, for /health and tests.
	served    atomic.Int64 // generations finished
	cancelled atomic.Int64 // generations ended by their request's context
}

// New builds a Server and its sessions.
func New(cfg Config) (*Server, error) {
	if cfg.Model == nil {
		return nil, errors.New("serve: no model")
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = 1
	}
	if cfg.Parallel < 0 || cfg.Parallel > 1024 {
		return nil, fmt.Errorf("serve: parallel %d must be in [1, 1024]", cfg.Parallel)
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 64
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.ModelID == "" {
		cfg.ModelID = cfg.Model.Info().Name
	}
	if cfg.ModelID == "" {
		cfg.ModelID = "kiln"
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), sessions: make(chan *kiln.Session, cfg.Parallel), created: time.Now().Unix()}
	for range cfg.Parallel {
		sess, err := cfg.Model.NewSession()
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		s.sessions <- sess
	}
	s.mux.HandleFunc("GET /health", s.health)
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.complete(w, r, false) })
	s.mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.complete(w, r, true) })
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/completions", "/v1/chat/completions":
			w.Header().Set("Allow", "POST")
			s.fail(w, http.StatusMethodNotAllowed, "invalid_request_error", fmt.Sprintf("%s takes POST, not %s", r.URL.Path, r.Method))
			return
		case "/health", "/v1/models":
			w.Header().Set("Allow", "GET, HEAD")
			s.fail(w, http.StatusMethodNotAllowed, "invalid_request_error", fmt.Sprintf("%s takes GET, not %s", r.URL.Path, r.Method))
			return
		}
		s.fail(w, http.StatusNotFound, "not_found_error", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s, nil
}

// ServeHTTP answers one request; a panic becomes a 500, never a crash.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.logf("internal error on %s %s: %v", r.Method, r.URL.Path, p)
			s.fail(w, http.StatusInternalServerError, "server_error", "internal error")
		}
	}()
	s.mux.ServeHTTP(w, r)
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		s.cfg.Log.Printf(format, args...)
	}
}

type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func errorBody(typ, msg string) apiError {
	var e apiError
	e.Error.Message, e.Error.Type = msg, typ
	return e
}

// fail writes an error in OpenAI's shape.
func (s *Server) fail(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, errorBody(typ, msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status":      "ok",
		"slots_total": s.cfg.Parallel,
		"slots_idle":  len(s.sessions),
		"queued":      s.waiting.Load(),
	})
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	info := s.cfg.Model.Info()
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []any{map[string]any{
			"id": s.cfg.ModelID, "object": "model", "created": s.created, "owned_by": "kiln",
			"meta": map[string]any{"arch": info.Arch, "n_ctx": info.Context, "n_ctx_train": info.ContextTrain, "n_vocab": info.VocabSize, "n_params": info.Params},
		}},
	})
}

// acquire waits for a free session, or gives up when the request ends.
func (s *Server) acquire(ctx context.Context) (*kiln.Session, error) {
	select {
	case sess := <-s.sessions:
		return sess, nil
	default:
	}
	if s.waiting.Add(1) > int64(s.cfg.MaxQueue) {
		s.waiting.Add(-1)
		return nil, errBusy
	}
	defer s.waiting.Add(-1)
	select {
	case sess := <-s.sessions:
		return sess, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var errBusy = errors.New("server busy")

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatMessage struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content"`
}

type choice struct {
	Index        int          `json:"index"`
	Text         *string      `json:"text,omitempty"`    // completions
	Message      *chatMessage `json:"message,omitempty"` // chat, whole response
	Delta        *chatMessage `json:"delta,omitempty"`   // chat, stream chunk
	Logprobs     any          `json:"logprobs"`
	FinishReason *string      `json:"finish_reason"`
}

type response struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage,omitempty"`
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request, chatMode bool) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	req, err := decodeRequest(r.Body, chatMode)
	if err != nil {
		if tooLarge(err) {
			s.fail(w, http.StatusRequestEntityTooLarge, "invalid_request_error", fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBodyBytes))
		} else {
			s.fail(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		}
		return
	}
	m := s.cfg.Model
	prompt := req.Prompt
	if chatMode {
		if s.cfg.Template == nil {
			s.fail(w, http.StatusBadRequest, "invalid_request_error", "the model has no chat template (start kiln serve with --chat-template chatml or FILE); use /v1/completions")
			return
		}
		if prompt, err = s.cfg.Template.Render(req.Messages, true); err != nil {
			s.fail(w, http.StatusBadRequest, "invalid_request_error", err.Error())
			return
		}
	}
	// Check the length before queueing, so an impossible request fails at once.
	ids, err := m.Tokenize(prompt)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "invalid_request_error", "prompt: "+err.Error())
		return
	}
	if len(ids) == 0 {
		s.fail(w, http.StatusBadRequest, "invalid_request_error", "the prompt has no tokens")
		return
	}
	if len(ids) >= m.Ctx {
		writeJSON(w, http.StatusBadRequest, codedError("context_length_exceeded",
			fmt.Sprintf("the prompt has %d tokens; the context holds %d, and at least one must be left to generate", len(ids), m.Ctx)))
		return
	}
	ctx := r.Context()
	sess, err := s.acquire(ctx)
	if errors.Is(err, errBusy) {
		s.fail(w, http.StatusServiceUnavailable, "server_error", fmt.Sprintf("server busy: %d requests already waiting", s.cfg.MaxQueue))
		return
	}
	if err != nil {
		return // the client left while queued
	}
	defer func() { s.sessions <- sess }()
	if !req.SeedSet {
		req.Sampler.Seed = uint64(time.Now().UnixNano()) ^ s.nextID.Load()<<32
	}
	opt := kiln.GenerateOptions{MaxTokens: req.MaxTokens, Sampler: req.Sampler, Stop: append(req.Stop, s.cfg.Stop...)}
	id := fmt.Sprintf("%s-%d", map[bool]string{false: "cmpl", true: "chatcmpl"}[chatMode], s.nextID.Add(1))
	base := response{ID: id, Created: time.Now().Unix(), Model: s.cfg.ModelID}
	gen := sess.GenerateText(ctx, prompt, opt)
	if req.Stream {
		s.stream(w, ctx, base, chatMode, gen, sess)
	} else {
		s.whole(w, ctx, base, chatMode, gen, sess)
	}
}

func codedError(code, msg string) apiError {
	e := errorBody("invalid_request_error", msg)
	e.Error.Code = &code
	return e
}

// finish counts a generation; gone means the client stopped reading.
func (s *Server) finish(ctx context.Context, err error, gone bool) {
	if gone || ctx.Err() != nil {
		s.cancelled.Add(1)
	} else if err != nil {
		s.logf("generation: %v", err)
	}
	s.served.Add(1)
}

func usageOf(sess *kiln.Session) *usage {
	st := sess.LastGeneration()
	return &usage{st.PromptTokens, st.Tokens, st.PromptTokens + st.Tokens}
}

func (s *Server) whole(w http.ResponseWriter, ctx context.Context, base response, chatMode bool, gen iter.Seq2[string, error], sess *kiln.Session) {
	var b strings.Builder
	var err error
	for piece, e := range gen {
		if e != nil {
			err = e
			break
		}
		b.WriteString(piece)
	}
	s.finish(ctx, err, false)
	if ctx.Err() != nil {
		return // nobody to answer
	}
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	text := b.String()
	reason := sess.LastGeneration().FinishReason
	c := choice{FinishReason: &reason}
	if chatMode {
		base.Object = "chat.completion"
		c.Message = &chatMessage{Role: "assistant", Content: text}
	} else {
		base.Object = "text_completion"
		c.Text = &text
	}
	base.Choices = []choice{c}
	base.Usage = usageOf(sess)
	writeJSON(w, http.StatusOK, base)
}

func (s *Server) stream(w http.ResponseWriter, ctx context.Context, base response, chatMode bool, gen iter.Seq2[string, error], sess *kiln.Session) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	base.Object = "text_completion"
	if chatMode {
		base.Object = "chat.completion.chunk"
	}
	send := func(v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	chunk := func(text string, role string, reason *string) response {
		r := base
		c := choice{FinishReason: reason}
		if chatMode {
			c.Delta = &chatMessage{Role: role, Content: text}
		} else {
			c.Text = &text
		}
		r.Choices = []choice{c}
		return r
	}
	if chatMode && !send(chunk("", "assistant", nil)) {
		s.finish(ctx, nil, true)
		return
	}
	var err error
	gone := false
	for piece, e := range gen {
		if e != nil {
			err = e
			break
		}
		if !send(chunk(piece, "", nil)) {
			gone = true // stop generating: nobody reads it
			break
		}
	}
	s.finish(ctx, err, gone)
	if gone || ctx.Err() != nil {
		return
	}
	if err != nil {
		send(errorBody("server_error", err.Error()))
		return
	}
	reason := sess.LastGeneration().FinishReason
	last := chunk("", "", &reason)
	last.Usage = usageOf(sess)
	send(last)
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
}
