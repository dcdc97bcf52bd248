package chat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzTemplates are the reference templates when ../shared is there, and
// ChatML always.
func fuzzTemplates(f *testing.F) []string {
	srcs := []string{ChatML}
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "reference", "chat", "*.json"))
	if len(files) > 0 {
		for _, r := range loadReferences(f) {
			srcs = append(srcs, r.Template)
		}
	}
	return srcs
}

// FuzzTemplate compiles and renders arbitrary template source: a bad
// template must be an error, never a crash or a hang. (The engine panics on
// a few inputs, such as 'a' * -1; New and Render turn those into errors.)
func FuzzTemplate(f *testing.F) {
	for _, src := range fuzzTemplates(f) {
		f.Add(src, "hello")
	}
	for _, src := range []string{
		"{{ messages[0]['content'] | trim | upper }}",
		"{% for m in messages %}{{ loop.index }}{{ m.role ~ ':' ~ m.content }}{% endfor %}",
		"{% set ns = namespace(x=1) %}{% set ns.x = ns.x + 1 %}{{ ns.x }}",
		"{{ messages | length }}{{ messages[::-1][0].content }}{{ 'a,b'.split(',') | join('-') }}",
		"{% if add_generation_prompt %}{{ bos_token }}{% else %}{{ eos_token }}{% endif %}",
		"{{ strftime_now('%d %b %Y') }}{{ raise_exception('x') if false }}",
		"{% macro f(x) %}[{{ x }}]{% endmacro %}{{ f(messages[0].content) }}",
		"{{ messages[0].content | tojson }}{{ {'a': [1, 2.5, none, true]} | tojson }}",
	} {
		f.Add(src, "hi {{ x }}")
	}
	now := func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) }
	f.Fuzz(func(t *testing.T, src, content string) {
		if len(src) > 1<<12 {
			return // templates are small; long inputs only slow the search
		}
		tmpl, err := New(src, Options{BOS: "<s>", EOS: "</s>", Now: now})
		if err != nil {
			return
		}
		msgs := []Message{{"system", "sys"}, {"user", content}, {"assistant", "ok"}, {"user", content}}
		out1, err1 := tmpl.Render(msgs, true)
		// Rendering is a pure function of its inputs.
		out2, err2 := tmpl.Render(msgs, true)
		if out1 != out2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("two renders differ: %q (%v) and %q (%v)", out1, err1, out2, err2)
		}
	})
}

// FuzzRenderMessages renders arbitrary message text with every real
// template: the text must come through verbatim (Llama 3 trims it) and
// never be read as template syntax.
func FuzzRenderMessages(f *testing.F) {
	srcs := fuzzTemplates(f)
	var tmpls []*Template
	for _, src := range srcs {
		tmpl, err := New(src, Options{BOS: "<s>", EOS: "</s>", Now: func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) }})
		if err != nil {
			f.Fatal(err)
		}
		tmpls = append(tmpls, tmpl)
	}
	for _, s := range []string{"", "hi", "{{ 7*7 }}", "{% raw %}x{% endraw %}", "</think>a<think>b", "<tool_response>x</tool_response>", "\x00\xff", " \n\t "} {
		f.Add(s, "reply")
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "ppl_1k.txt")); err == nil {
		f.Add(string(b[:min(len(b), 300)]), "r")
	}
	f.Fuzz(func(t *testing.T, user, reply string) {
		msgs := []Message{{"user", user}, {"assistant", reply}, {"user", user}}
		for i, tmpl := range tmpls {
			out, err := tmpl.Render(msgs, true)
			if err != nil {
				if strings.Contains(err.Error(), "internal error") {
					t.Fatalf("template %d: render panicked: %v", i, err)
				}
				continue // a template may reject a conversation (raise_exception)
			}
			if !strings.Contains(out, strings.TrimSpace(user)) {
				t.Fatalf("template %d: %q missing from %q", i, user, out)
			}
		}
	})
}
