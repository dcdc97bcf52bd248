// Package chat turns a conversation into a prompt with a model's chat
// template: the Jinja source a GGUF file carries in tokenizer.chat_template,
// rendered as Hugging Face's apply_chat_template renders it (messages,
// add_generation_prompt, bos_token, eos_token, raise_exception and
// strftime_now in scope).
//
// Rendering uses github.com/ardanlabs/jinja, which renders the templates of
// Llama 3.x, Qwen2.5, Qwen3, Gemma 2, Phi-3.5, Mistral Nemo and SmolLM3
// exactly as the reference renderings in ../shared/reference/chat have them.
package chat

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"` // "system", "user", "assistant" (or "tool")
	Content string `json:"content"`
}

// Options give a template the values it reads besides the messages.
type Options struct {
	BOS, EOS string // text of the vocabulary's BOS and EOS tokens
	// Now is strftime_now's clock; nil means time.Now.
	Now func() time.Time
	// Vars are extra variables in scope (for example enable_thinking: false
	// for Qwen3). Values are JSON-like: nil, bool, int, float64, string,
	// []any, map[string]any.
	Vars map[string]any
}

// ErrNoTemplate is returned for a model file without tokenizer.chat_template.
var ErrNoTemplate = errors.New("the model has no chat template (tokenizer.chat_template)")

// ChatML is the template used by many models (Qwen, SmolLM) and a fallback
// for models without one; it is offered by name, never silently.
const ChatML = `{%- for message in messages -%}
{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- endif -%}`

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	src string
	t   *jinja.Template
	opt Options
}

// New compiles a template's Jinja source.
func New(src string, opt Options) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("chat template: compile: internal error: %v", r)
		}
	}()
	jt, err := jinja.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	opt.Vars = maps.Clone(opt.Vars)
	return &Template{src: src, t: jt, opt: opt}, nil
}

// Source returns the Jinja source.
func (t *Template) Source() string { return t.src }

// Render formats messages; with addGenerationPrompt the result ends with the
// header of the assistant's next turn. A template that rejects the
// conversation (raise_exception) returns its message as the error.
func (t *Template) Render(msgs []Message, addGenerationPrompt bool) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("chat template: render: internal error: %v", r)
		}
	}()
	list := make([]jinja.Value, len(msgs))
	for i, m := range msgs {
		d := jinja.NewDict()
		d.AsDict().Set("role", jinja.NewString(m.Role))
		d.AsDict().Set("content", jinja.NewString(m.Content))
		list[i] = d
	}
	now := t.opt.Now
	if now == nil {
		now = time.Now
	}
	vars := map[string]jinja.Value{}
	for _, k := range slices.Sorted(maps.Keys(t.opt.Vars)) {
		vars[k] = jinja.FromGoValue(t.opt.Vars[k])
	}
	vars["messages"] = jinja.NewList(list)
	vars["add_generation_prompt"] = jinja.NewBool(addGenerationPrompt)
	vars["bos_token"] = jinja.NewString(t.opt.BOS)
	vars["eos_token"] = jinja.NewString(t.opt.EOS)
	vars["strftime_now"] = jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		format := "%Y-%m-%d"
		if len(args) > 0 {
			if !args[0].IsString() {
				return jinja.Undefined(), fmt.Errorf("strftime_now: format must be a string")
			}
			format = args[0].AsString()
		}
		return jinja.NewString(Strftime(now(), format)), nil
	})
	vars["range"] = jinja.NewCallable("range", boundedRange)
	out, err = t.t.RenderValues(vars)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}

// maxRange bounds range(): the engine's own builds the whole list, so a
// template from a file could ask for range(10**12) and exhaust memory.
const maxRange = 1 << 16

// boundedRange is Python's range, refusing more than maxRange items.
func boundedRange(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	var n [3]int64
	for i, a := range args {
		if i == 3 || !a.IsInt() {
			return jinja.Undefined(), fmt.Errorf("range: takes one to three integers")
		}
		n[i] = a.AsInt()
	}
	start, stop, step := int64(0), int64(0), int64(1)
	switch len(args) {
	case 1:
		stop = n[0]
	case 2:
		start, stop = n[0], n[1]
	case 3:
		start, stop, step = n[0], n[1], n[2]
	default:
		return jinja.Undefined(), fmt.Errorf("range: takes one to three integers")
	}
	if step == 0 {
		return jinja.Undefined(), fmt.Errorf("range: step must not be zero")
	}
	var items []jinja.Value
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(items) == maxRange {
			return jinja.Undefined(), fmt.Errorf("range: more than %d items", maxRange)
		}
		items = append(items, jinja.NewInt(i))
		if (step > 0 && i > math.MaxInt64-step) || (step < 0 && i < math.MinInt64-step) {
			break // the next value would overflow
		}
	}
	return jinja.NewList(items), nil
}
