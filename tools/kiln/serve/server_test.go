package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/chat"
	"github.com/kiln-ml/kiln/tests/testshared"
)

// The tests start the server on a loopback port (httptest) and talk to it
// with net/http's client, as any OpenAI client would.

func loadModel(t testing.TB, name string, ctx int) *kiln.Model {
	t.Helper()
	m, err := kiln.Load(filepath.Join(testshared.Dir(t), "models", name), kiln.Options{Threads: 2, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func start(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

func chatML(t testing.TB, m *kiln.Model) *chat.Template {
	tmpl, err := m.NewChatTemplate(chat.ChatML)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func post(t testing.TB, ctx context.Context, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func decode[T any](t testing.TB, resp *http.Response) T {
	t.Helper()
	defer resp.Body.Close()
	var v T
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("status %d, body %q: %v", resp.StatusCode, b, err)
	}
	return v
}

type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Text    string `json:"text"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Delta struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

// events reads a server-sent event stream to [DONE] and returns the chunks.
func events(t testing.TB, resp *http.Response) []completion {
	t.Helper()
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var out []completion
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		if data == "[DONE]" {
			return out
		}
		var c completion
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		out = append(out, c)
	}
	t.Fatalf("stream ended without [DONE] (%v)", sc.Err())
	return nil
}

// direct runs the same greedy generation through the library.
func direct(t testing.TB, m *kiln.Model, prompt string, maxTokens int, stop ...string) (string, kiln.GenerationStats) {
	t.Helper()
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for piece, err := range s.GenerateText(context.Background(), prompt, kiln.GenerateOptions{MaxTokens: maxTokens, Stop: stop}) {
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(piece)
	}
	return b.String(), s.LastGeneration()
}

// waitPool waits until n sessions are back in the server's pool.
func waitPool(t testing.TB, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(s.sessions) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions back in the pool, want %d", len(s.sessions), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestHealthAndModels(t *testing.T) {
	m := loadModel(t, "stories260K-q8_0.gguf", 128)
	_, hs := start(t, Config{Model: m, ModelID: "stories", Parallel: 2})
	resp, err := http.Get(hs.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	h := decode[map[string]any](t, resp)
	if h["status"] != "ok" || h["slots_total"] != 2.0 || h["slots_idle"] != 2.0 {
		t.Errorf("health: %v", h)
	}
	resp, err = http.Get(hs.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	ml := decode[struct {
		Object string `json:"object"`
		Data   []struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"data"`
	}](t, resp)
	if ml.Object != "list" || len(ml.Data) != 1 || ml.Data[0].ID != "stories" || ml.Data[0].Object != "model" {
		t.Errorf("models: %+v", ml)
	}
}

func TestCompletions(t *testing.T) {
	m := loadModel(t, "stories260K-q8_0.gguf", 128)
	_, hs := start(t, Config{Model: m, Parallel: 1})
	want, st := direct(t, m, "Once upon a time", 20)
	body := `{"model":"x","prompt":"Once upon a time","max_tokens":20,"temperature":0}`
	c := decode[completion](t, post(t, context.Background(), hs.URL+"/v1/completions", body))
	if c.Object != "text_completion" || len(c.Choices) != 1 || c.Choices[0].Text != want {
		t.Fatalf("got %+v, want text %q", c, want)
	}
	if r := c.Choices[0].FinishReason; r == nil || *r != st.FinishReason {
		t.Errorf("finish reason %v, want %q", r, st.FinishReason)
	}
	if c.Usage == nil || c.Usage.PromptTokens != st.PromptTokens || c.Usage.CompletionTokens != st.Tokens || c.Usage.TotalTokens != st.PromptTokens+st.Tokens {
		t.Errorf("usage %+v, want %+v", c.Usage, st)
	}
	// Streaming gives the same text in pieces, then a finish reason.
	body = `{"prompt":["Once upon a time"],"max_tokens":20,"temperature":0,"stream":true}`
	chunks := events(t, post(t, context.Background(), hs.URL+"/v1/completions", body))
	var b strings.Builder
	for _, ch := range chunks {
		b.WriteString(ch.Choices[0].Text)
	}
	if b.String() != want {
		t.Errorf("stream: %q, want %q", b.String(), want)
	}
	last := chunks[len(chunks)-1]
	if r := last.Choices[0].FinishReason; r == nil || *r != st.FinishReason || last.Usage == nil {
		t.Errorf("last chunk %+v", last)
	}
	// A stop string ends the text before it.
	cut := strings.Index(want, " ")
	if cut > 0 {
		stop := want[cut : cut+2]
		body = fmt.Sprintf(`{"prompt":"Once upon a time","max_tokens":20,"temperature":0,"stop":%q}`, stop)
		c = decode[completion](t, post(t, context.Background(), hs.URL+"/v1/completions", body))
		if got := c.Choices[0].Text; got != want[:strings.Index(want, stop)] || *c.Choices[0].FinishReason != "stop" {
			t.Errorf("stop %q: %q", stop, got)
		}
	}
}

func TestChatCompletions(t *testing.T) {
	m := loadModel(t, "stories260K-q8_0.gguf", 128)
	tmpl := chatML(t, m)
	_, hs := start(t, Config{Model: m, Template: tmpl, Stop: []string{"<|im_end|>"}, Parallel: 1})
	msgs := []chat.Message{{Role: "system", Content: "Tell stories."}, {Role: "user", Content: "A story about a cat."}}
	prompt, err := tmpl.Render(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := direct(t, m, prompt, 24, "<|im_end|>")
	body := `{"model":"m","messages":[{"role":"system","content":"Tell stories."},{"role":"user","content":[{"type":"text","text":"A story "},{"type":"text","text":"about a cat."}]}],"max_tokens":24,"temperature":0}`
	c := decode[completion](t, post(t, context.Background(), hs.URL+"/v1/chat/completions", body))
	if c.Object != "chat.completion" || c.Choices[0].Message.Role != "assistant" || c.Choices[0].Message.Content != want {
		t.Fatalf("got %+v, want content %q", c, want)
	}
	body = strings.Replace(body, `"temperature":0`, `"temperature":0,"stream":true`, 1)
	chunks := events(t, post(t, context.Background(), hs.URL+"/v1/chat/completions", body))
	if chunks[0].Choices[0].Delta.Role != "assistant" || chunks[0].Object != "chat.completion.chunk" {
		t.Errorf("first chunk %+v", chunks[0])
	}
	var b strings.Builder
	for _, ch := range chunks {
		b.WriteString(ch.Choices[0].Delta.Content)
	}
	if b.String() != want {
		t.Errorf("stream: %q, want %q", b.String(), want)
	}
	if chunks[len(chunks)-1].Choices[0].FinishReason == nil {
		t.Error("the last chunk has no finish reason")
	}
}

// TestConcurrentRequests sends more requests than there are sessions at
// once; each must get what it gets alone. Run under -race in CI.
func TestConcurrentRequests(t *testing.T) {
	m := loadModel(t, "stories260K-q8_0.gguf", 128)
	s, hs := start(t, Config{Model: m, Parallel: 2})
	prompts := []string{"Once upon a time", "The cat", "Lily and Tom", "One day", "The sun was", "A big dog"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		want[i], _ = direct(t, m, p, 24)
	}
	var wg sync.WaitGroup
	got := make([]string, len(prompts))
	for i, p := range prompts {
		wg.Go(func() {
			stream := i%2 == 0
			body := fmt.Sprintf(`{"prompt":%q,"max_tokens":24,"temperature":0,"stream":%v}`, p, stream)
			resp := post(t, context.Background(), hs.URL+"/v1/completions", body)
			if stream {
				for _, ch := range events(t, resp) {
					got[i] += ch.Choices[0].Text
				}
			} else {
				got[i] = decode[completion](t, resp).Choices[0].Text
			}
		})
	}
	wg.Wait()
	for i := range prompts {
		if got[i] != want[i] {
			t.Errorf("prompt %q: %q, alone %q", prompts[i], got[i], want[i])
		}
	}
	// A handler puts its session back just after its response is written.
	waitPool(t, s, 2)
}

// TestStreamCancel disconnects a streaming client after its first chunk:
// the generation must stop and its session return to the pool.
func TestStreamCancel(t *testing.T) {
	m := loadModel(t, "gocoder-11m-q8_0.gguf", 1024)
	s, hs := start(t, Config{Model: m, Parallel: 1})
	ctx, cancel := context.WithCancel(context.Background())
	resp := post(t, ctx, hs.URL+"/v1/completions", `{"prompt":"func main() {","max_tokens":1000,"temperature":0.8,"stream":true}`)
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for s.cancelled.Load() == 0 || len(s.sessions) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the generation did not stop after the client left")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sess := <-s.sessions
	if n := sess.LastGeneration().Tokens; n >= 1000 {
		t.Errorf("generated all %d tokens for a client that left", n)
	}
	s.sessions <- sess
	// The server still answers.
	c := decode[completion](t, post(t, context.Background(), hs.URL+"/v1/completions", `{"prompt":"package","max_tokens":4}`))
	if len(c.Choices) != 1 {
		t.Errorf("after a cancel: %+v", c)
	}
}

// TestQueue holds the only session and checks that requests wait, that the
// queue is bounded, and that a client leaving the queue is let go.
func TestQueue(t *testing.T) {
	m := loadModel(t, "stories260K-q8_0.gguf", 128)
	s, hs := start(t, Config{Model: m, Parallel: 1, MaxQueue: 1})
	held := <-s.sessions
	waitFor := func(n int64) {
		deadline := time.Now().Add(10 * time.Second)
		for s.waiting.Load() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests waiting, want %d", s.waiting.Load(), n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	// A client that gives up while queued leaves the queue.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/v1/completions", strings.NewReader(`{"prompt":"Once","max_tokens":4}`))
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	waitFor(1)
	cancel()
	<-errc
	waitFor(0)
	// One request waits; the next is refused.
	done := make(chan completion, 1)
	go func() {
		done <- decode[completion](t, post(t, context.Background(), hs.URL+"/v1/completions", `{"prompt":"Once","max_tokens":4,"temperature":0}`))
	}()
	waitFor(1)
	resp := post(t, context.Background(), hs.URL+"/v1/completions", `{"prompt":"Once","max_tokens":4}`)
	e := decode[apiError](t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(e.Error.Message, "busy") {
		t.Errorf("over the queue: %d %+v", resp.StatusCode, e)
	}
	s.sessions <- held
	if c := <-done; len(c.Choices) != 1 || c.Choices[0].Text == "" {
		t.Errorf("queued request: %+v", c)
	}
}

func TestBadRequests(t *testing.T) {
	m := loadModel(t, "stories260K-q8_0.gguf", 32)
	_, hs := start(t, Config{Model: m, MaxBodyBytes: 4096})
	long := strings.Repeat("Once upon a time there was a cat. ", 20)
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/v1/completions", `{"prompt": "x"`, 400, "malformed JSON"},
		{"POST", "/v1/completions", `[1,2]`, 400, "malformed JSON"},
		{"POST", "/v1/completions", `{"prompt":"x"} {"prompt":"y"}`, 400, "after the request"},
		{"POST", "/v1/completions", ``, 400, "malformed JSON"},
		{"POST", "/v1/completions", `{"prompt": 7}`, 400, "prompt"},
		{"POST", "/v1/completions", `{}`, 400, "prompt: required"},
		{"POST", "/v1/completions", `{"prompt":"x","max_tokens":-1}`, 400, "max_tokens"},
		{"POST", "/v1/completions", `{"prompt":"x","temperature":-1}`, 400, "temperature"},
		{"POST", "/v1/completions", `{"prompt":"x","top_p":2}`, 400, "top_p"},
		{"POST", "/v1/completions", `{"prompt":"x","n":3}`, 400, "one choice"},
		{"POST", "/v1/completions", `{"prompt":"x","stop":[1]}`, 400, "stop"},
		{"POST", "/v1/completions", `{"prompt":["a","b"]}`, 400, "only one"},
		{"POST", "/v1/completions", fmt.Sprintf(`{"prompt":%q}`, long), 400, "context holds 32"},
		{"POST", "/v1/completions", fmt.Sprintf(`{"prompt":%q}`, strings.Repeat("a", 5000)), 413, "larger than 4096"},
		{"POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "no chat template"},
		{"POST", "/v1/chat/completions", `{"prompt":"hi"}`, 400, "messages"},
		{"GET", "/v1/completions", ``, 405, "takes POST"},
		{"POST", "/health", ``, 405, "takes GET"},
		{"GET", "/v2/nothing", ``, 404, "no endpoint"},
	} {
		req, _ := http.NewRequest(c.method, hs.URL+c.path, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !bytes.Contains(b, []byte(c.want)) {
			t.Errorf("%s %s %.60q: %d %s, want %d with %q", c.method, c.path, c.body, resp.StatusCode, b, c.status, c.want)
		}
	}
}
