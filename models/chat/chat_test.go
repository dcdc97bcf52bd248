package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-ml/kiln/tests/testshared"
)

// refDate is the day the reference renderings fixed strftime_now to.
var refDate = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

type reference struct {
	Template string `json:"template"`
	BOS      string `json:"bos_token"`
	EOS      string `json:"eos_token"`
	Date     string `json:"strftime_date"`
	Cases    []struct {
		Messages            []Message `json:"messages"`
		AddGenerationPrompt bool      `json:"add_generation_prompt"`
		Rendered            string    `json:"rendered"`
	} `json:"cases"`
}

func loadReferences(t testing.TB) map[string]reference {
	files, err := filepath.Glob(filepath.Join(testshared.Dir(t), "reference", "chat", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no reference chat renderings in ../shared/reference/chat")
	}
	refs := map[string]reference{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r reference
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		refs[strings.TrimSuffix(filepath.Base(f), ".json")] = r
	}
	return refs
}

// TestReferenceRenderings renders every case of every reference template
// and compares it byte for byte with Hugging Face's rendering.
func TestReferenceRenderings(t *testing.T) {
	for name, r := range loadReferences(t) {
		t.Run(name, func(t *testing.T) {
			if got := Strftime(refDate, "%d %b %Y"); got != r.Date {
				t.Fatalf("reference date %q, test clock gives %q", r.Date, got)
			}
			tmpl, err := New(r.Template, Options{BOS: r.BOS, EOS: r.EOS, Now: func() time.Time { return refDate }})
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range r.Cases {
				got, err := tmpl.Render(c.Messages, c.AddGenerationPrompt)
				if err != nil {
					t.Errorf("case %d: %v", i, err)
					continue
				}
				if got != c.Rendered {
					t.Errorf("case %d (generation prompt %v):\n got %q\nwant %q", i, c.AddGenerationPrompt, got, c.Rendered)
				}
			}
		})
	}
}

// TestRaiseException checks that a template's own rejection comes back as
// an error with its message: Gemma 2 refuses a system message.
func TestRaiseException(t *testing.T) {
	r, ok := loadReferences(t)["google-gemma-2-2b-it"]
	if !ok {
		t.Skip("no Gemma 2 reference")
	}
	tmpl, err := New(r.Template, Options{BOS: r.BOS, EOS: r.EOS})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmpl.Render([]Message{{"system", "be brief"}, {"user", "hi"}}, true)
	if err == nil || !strings.Contains(err.Error(), "System role not supported") {
		t.Fatalf("got %v, want the template's \"System role not supported\"", err)
	}
}

func TestChatML(t *testing.T) {
	tmpl, err := New(ChatML, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render([]Message{{"system", "S"}, {"user", "U"}, {"assistant", "A"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestBadTemplates(t *testing.T) {
	for _, src := range []string{
		"{% if %}",
		"{{ messages[0].content ",
		"{% for m in messages %}",
		"{% endfor %}",
	} {
		if _, err := New(src, Options{}); err == nil {
			t.Errorf("%q compiled", src)
		}
	}
	// Compiles, but fails on the data: a clear error, not a panic.
	tmpl, err := New("{{ raise_exception('no ' + messages[0].role) }}", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Render([]Message{{"user", "x"}}, false); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("got %v", err)
	}
}

func TestStrftime(t *testing.T) {
	tm := time.Date(2026, 1, 5, 15, 4, 9, 0, time.UTC)
	for format, want := range map[string]string{
		"%d %b %Y":       "05 Jan 2026",
		"%Y-%m-%d":       "2026-01-05",
		"%A, %B %e %y":   "Monday, January  5 26",
		"%H:%M:%S %p %I": "15:04:09 PM 03",
		"%j %% %q %":     "005 % %q %",
	} {
		if got := Strftime(tm, format); got != want {
			t.Errorf("Strftime(%q) = %q, want %q", format, got, want)
		}
	}
}

// TestEngineFailures checks that what makes the Jinja engine fail (its own
// panics included) comes back as an error, and that range is bounded.
func TestEngineFailures(t *testing.T) {
	for src, want := range map[string]string{
		"{{ 'a' * -1 }}":                      "internal error",
		"{{ 'x' | indent(-3) }}":              "internal error",
		"{{ range(1000000000000) | length }}": "more than 65536",
		"{{ range(0, 10, 0) | length }}":      "step",
		"{{ range('a') | length }}":           "integers",
		"{{ raise_exception('stop here') }}":  "stop here",
	} {
		tmpl, err := New(src, Options{})
		if err != nil {
			t.Errorf("%s: compile: %v", src, err)
			continue
		}
		if _, err := tmpl.Render([]Message{{"user", "x"}}, false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", src, err, want)
		}
	}
	tmpl, _ := New("{{ range(3) | list }}{{ range(5, 0, -2) | list }}{% for i in range(2, 4) %}{{ i }}{% endfor %}", Options{})
	if out, err := tmpl.Render(nil, false); err != nil || out != "[0, 1, 2][5, 3, 1]23" {
		t.Errorf("range: %q, %v", out, err)
	}
}
