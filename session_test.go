package kiln_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/tests/testshared"
)

func loadShared(t testing.TB, name string, opt kiln.Options) *kiln.Model {
	t.Helper()
	m, err := kiln.Load(filepath.Join(testshared.Dir(t), "models", name), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func generate(t testing.TB, m *kiln.Model, s *kiln.Session, prompt string, opt kiln.GenerateOptions) string {
	t.Helper()
	var b strings.Builder
	for piece, err := range s.GenerateText(context.Background(), prompt, opt) {
		if err != nil {
			t.Error(err)
			return ""
		}
		b.WriteString(piece)
	}
	return b.String()
}

// TestConcurrentSessions runs several sessions of one model from their own
// goroutines at once and checks each produces what it produces alone: the
// sessions share the model's programs and workers, and must not see each
// other's caches or outputs. Run under -race in CI.
func TestConcurrentSessions(t *testing.T) {
	m := loadShared(t, "stories260K-q8_0.gguf", kiln.Options{Threads: 2})
	prompts := []string{"Once upon a time", "The cat", "Lily and Tom went to the park", "One day, a little bird"}
	opts := []kiln.GenerateOptions{
		{MaxTokens: 24},
		{MaxTokens: 40, Sampler: kiln.SamplerOptions{Temp: 0.8, TopK: 40, TopP: 0.95, Seed: 7}},
		{MaxTokens: 30, Sampler: kiln.SamplerOptions{Temp: 1, Seed: 3, RepeatPenalty: 1.1, RepeatLastN: 16}},
		{MaxTokens: 20},
	}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		s, err := m.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		want[i] = generate(t, m, s, p, opts[i])
		if want[i] == "" {
			t.Fatalf("prompt %q generated nothing", p)
		}
	}
	for round := 0; round < 2; round++ {
		got := make([]string, len(prompts))
		var wg sync.WaitGroup
		for i, p := range prompts {
			wg.Go(func() {
				s, err := m.NewSession()
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = generate(t, m, s, p, opts[i])
			})
		}
		wg.Wait()
		for i := range prompts {
			if got[i] != want[i] {
				t.Errorf("round %d, prompt %q: concurrent run gave\n%q\nalone it gives\n%q", round, prompts[i], got[i], want[i])
			}
		}
	}
}

// TestConcurrentEval checks the logits of many sessions stepping at once
// against one-at-a-time logits, bit for bit.
func TestConcurrentEval(t *testing.T) {
	m := loadShared(t, "stories260K-q8_0.gguf", kiln.Options{Threads: 2})
	seqs := [][]int32{{1, 348, 342, 364, 305}, {1, 261, 397}, {1, 439, 400, 285, 261, 399, 340, 431}, {1, 511}}
	want := make([][][]float32, len(seqs))
	for i, ids := range seqs {
		rows, err := m.Logits(ids)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = rows
	}
	var wg sync.WaitGroup
	for i, ids := range seqs {
		wg.Go(func() {
			s, err := m.NewSession()
			if err != nil {
				t.Error(err)
				return
			}
			for rep := 0; rep < 3; rep++ {
				s.Reset()
				// One token at a time, so the steps of different sessions interleave.
				for j, id := range ids {
					logits, err := s.Eval([]int32{id}, false)
					if err != nil {
						t.Error(err)
						return
					}
					if !slices.Equal(logits, want[i][j]) {
						t.Errorf("sequence %d, position %d: logits differ from the one-session run", i, j)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestGenerateTextReusesPrefix checks that a prompt extending what the
// session holds evaluates only the new tokens and gives what a fresh
// session gives.
func TestGenerateTextReusesPrefix(t *testing.T) {
	m := loadShared(t, "stories260K-q8_0.gguf", kiln.Options{Threads: 2})
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	first := generate(t, m, s, "Once upon a time", kiln.GenerateOptions{MaxTokens: 10})
	st := s.LastGeneration()
	if st.Reused != 0 || st.Tokens != 10 || st.FinishReason != "length" {
		t.Fatalf("first turn: %+v", st)
	}
	next := "Once upon a time" + first + " Then"
	got := generate(t, m, s, next, kiln.GenerateOptions{MaxTokens: 12})
	st = s.LastGeneration()
	if st.Reused == 0 {
		t.Errorf("second turn reused nothing: %+v", st)
	}
	fresh, _ := m.NewSession()
	if want := generate(t, m, fresh, next, kiln.GenerateOptions{MaxTokens: 12}); got != want {
		t.Errorf("with reuse %q, fresh %q", got, want)
	}
	// A prompt that diverges early rewinds and still matches a fresh session.
	other := "The dog"
	got = generate(t, m, s, other, kiln.GenerateOptions{MaxTokens: 8})
	fresh.Reset()
	if want := generate(t, m, fresh, other, kiln.GenerateOptions{MaxTokens: 8}); got != want {
		t.Errorf("after rewind %q, fresh %q", got, want)
	}
}

func TestGenerateTextStop(t *testing.T) {
	m := loadShared(t, "stories260K-q8_0.gguf", kiln.Options{Threads: 2})
	s, _ := m.NewSession()
	full := generate(t, m, s, "Once upon a time", kiln.GenerateOptions{MaxTokens: 40})
	i := strings.Index(full[3:], " ")
	if i < 0 {
		t.Fatalf("no space in %q", full)
	}
	stop := full[3+i : 3+i+2]
	want := full[:strings.Index(full, stop)]
	s.Reset()
	got := generate(t, m, s, "Once upon a time", kiln.GenerateOptions{MaxTokens: 40, Stop: []string{"zzzz", stop}})
	if got != want || s.LastGeneration().FinishReason != "stop" {
		t.Errorf("stop %q: got %q (%+v), want %q", stop, got, s.LastGeneration(), want)
	}
}

func TestGenerateTextErrors(t *testing.T) {
	m := loadShared(t, "stories260K-q8_0.gguf", kiln.Options{Threads: 1, Context: 16})
	s, _ := m.NewSession()
	long := strings.Repeat("Once upon a time ", 10)
	var err error
	for _, e := range s.GenerateText(context.Background(), long, kiln.GenerateOptions{}) {
		err = e
	}
	if !errors.Is(err, kiln.ErrPromptTooLong) {
		t.Errorf("long prompt: got %v, want ErrPromptTooLong", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err = nil
	for _, e := range s.GenerateText(ctx, "Once", kiln.GenerateOptions{}) {
		if e != nil {
			err = e
			break
		}
		n++
		cancel()
	}
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("cancel after the first piece: %d pieces, error %v", n, err)
	}
	// Generation up to a full context ends with "length", not an error.
	s.Reset()
	var pieces int
	for _, e := range s.GenerateText(context.Background(), "Once", kiln.GenerateOptions{}) {
		if e != nil {
			t.Fatal(e)
		}
		pieces++
	}
	if st := s.LastGeneration(); st.FinishReason == "" || st.PromptTokens+st.Tokens > 16 {
		t.Errorf("full context: %+v", st)
	}
}

func TestTokenizeDetokenize(t *testing.T) {
	m := loadShared(t, "gocoder-11m-q8_0.gguf", kiln.Options{Threads: 2, Context: 64})
	text := "func main() {\n\tfmt.Println(\"héllo\")\n}"
	ids, err := m.Tokenize(text)
	if err != nil {
		t.Fatal(err)
	}
	back, err := m.Detokenize(ids)
	if err != nil {
		t.Fatal(err)
	}
	if back != text {
		t.Errorf("round trip: %q -> %v -> %q", text, ids, back)
	}
	info := m.Info()
	if info.Arch != "llama" || info.VocabSize != 4096 || info.Context != 64 || info.ContextTrain != 1024 || info.Layers != 6 {
		t.Errorf("info: %+v", info)
	}
	if _, err := m.ChatTemplate(); err == nil {
		t.Error("gocoder has no chat template, but ChatTemplate succeeded")
	}
}

// BenchmarkConcurrentSessions measures total decode throughput with N
// sessions of gocoder-11m generating at once from their own goroutines.
func BenchmarkConcurrentSessions(b *testing.B) {
	m := loadShared(b, "gocoder-11m-q8_0.gguf", kiln.Options{Context: 512})
	const perSession = 64
	prompts := []string{"func main() {", "package http", "// Copyright", "type Reader interface {"}
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			sessions := make([]*kiln.Session, n)
			for i := range sessions {
				s, err := m.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				sessions[i] = s
			}
			tokens := 0
			for b.Loop() {
				var wg sync.WaitGroup
				for i, s := range sessions {
					s.Reset()
					wg.Go(func() {
						opt := kiln.GenerateOptions{MaxTokens: perSession, Sampler: kiln.SamplerOptions{Temp: 0.8, TopK: 40, Seed: uint64(i)}}
						for _, err := range s.GenerateText(context.Background(), prompts[i%len(prompts)], opt) {
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				for _, s := range sessions {
					tokens += s.LastGeneration().Tokens
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
