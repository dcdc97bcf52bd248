package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kiln-ml/kiln"
)

func TestChatCLI(t *testing.T) {
	path := model(t, "stories260K-q8_0.gguf")
	old := stdin
	defer func() { stdin = old }()

	stdin = strings.NewReader("Hello there\n\n/reset\nWhat is a cat?")
	out, _ := mustRun(t, "chat", "-m", path, "--chat-template", "chatml", "-n", "12", "--temp", "0", "-t", "1")
	if strings.TrimSpace(out) == "" {
		t.Error("no reply on stdout")
	}

	// Without a template and without --chat-template: a clear error.
	stdin = strings.NewReader("hi\n")
	code, _, errs := cli("chat", "-m", path)
	if code != 1 || !strings.Contains(errs, "no chat template") || !strings.Contains(errs, "--chat-template chatml") {
		t.Errorf("no template: exit %d, %q", code, errs)
	}
	stdin = strings.NewReader("hi\n")
	if code, _, errs := cli("chat", "-m", path, "--chat-template", "/nonexistent.jinja"); code != 1 || !strings.Contains(errs, "nonexistent") {
		t.Errorf("missing template file: exit %d, %q", code, errs)
	}
	if code, _, _ := cli("chat", "-m", path, "--temp", "-1"); code != 2 {
		t.Errorf("--temp -1: exit %d, want 2", code)
	}
}

// TestChatHistory checks that each turn sees the earlier ones, reuses the
// session's cache for them, and that old turns make way when the context fills.
func TestChatHistory(t *testing.T) {
	newChat := func(ctx int) *chatLoop {
		m, err := kiln.Load(model(t, "gocoder-11m-q8_0.gguf"), kiln.Options{Threads: 2, Context: ctx})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		tmpl, stops, err := chatTemplate(m, "chatml")
		if err != nil {
			t.Fatal(err)
		}
		sess, _ := m.NewSession()
		c := &chatLoop{m: m, sess: sess, tmpl: tmpl, opt: kiln.GenerateOptions{MaxTokens: 8, Stop: stops}, system: "Write Go."}
		c.reset()
		return c
	}
	c := newChat(512)
	sess := c.sess
	if err := c.turn("func main() {", io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := c.turn("Then what?", io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(c.msgs) != 5 || c.msgs[3].Content != "Then what?" {
		t.Fatalf("history: %+v", c.msgs)
	}
	if st := sess.LastGeneration(); st.Reused < st.PromptTokens/2 {
		t.Errorf("second turn reused %d of %d prompt tokens", st.Reused, st.PromptTokens)
	}
	// In a 128-token context long turns push old ones out, but the system
	// message stays.
	c = newChat(128)
	for range 6 {
		if err := c.turn(strings.Repeat("x := y + z\n", 4), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if c.msgs[0].Role != "system" || len(c.msgs) >= 1+2*8 {
		t.Errorf("after a full context: %d messages, first %+v", len(c.msgs), c.msgs[0])
	}
	// A message longer than the context is refused and the chat goes on.
	var errs strings.Builder
	n := len(c.msgs)
	if err := c.turn(strings.Repeat("x := y + z\n", 60), io.Discard, &errs); err != nil {
		t.Fatal(err)
	}
	if len(c.msgs) != n || !strings.Contains(errs.String(), "too long") {
		t.Errorf("too long a message: %d messages (was %d), stderr %q", len(c.msgs), n, errs.String())
	}
}

// TestServeCLI starts `kiln serve` on a free loopback port, streams a chat
// completion from it, and stops it.
func TestServeCLI(t *testing.T) {
	path := model(t, "stories260K-q8_0.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"-m", path, "--port", "0", "--parallel", "2", "--chat-template", "chatml", "-t", "1"}, io.Discard, func(a string) { addr <- a })
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	body := `{"model":"stories","messages":[{"role":"user","content":"Tell me a story."}],"stream":true,"max_tokens":10}`
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	var chunks int
	var last string
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			chunks++
			last = line
		}
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || chunks < 3 || last != "data: [DONE]" {
		t.Errorf("status %d, %d chunks, last %q", resp.StatusCode, chunks, last)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("kiln serve did not stop")
	}
	if code, _, errs := cli("serve", "-m", path, "--port", "70000"); code != 2 || !strings.Contains(errs, "--port") {
		t.Errorf("bad port: exit %d, %q", code, errs)
	}
}
