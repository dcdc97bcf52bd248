package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/chat"
)

// samplerFlags are the sampling flags of run and chat.
type samplerFlags struct {
	temp, topP, minP, rep float64
	topK, repN            int
	seed                  int64
}

func (f *samplerFlags) register(fs *flag.FlagSet) {
	def := kiln.DefaultSampler()
	fs.Float64Var(&f.temp, "temp", float64(def.Temp), "temperature (0: greedy)")
	fs.IntVar(&f.topK, "top-k", def.TopK, "top-k (0: off)")
	fs.Float64Var(&f.topP, "top-p", float64(def.TopP), "top-p (1: off)")
	fs.Float64Var(&f.minP, "min-p", float64(def.MinP), "min-p (0: off)")
	fs.Float64Var(&f.rep, "repeat-penalty", float64(def.RepeatPenalty), "repetition penalty (1: off)")
	fs.IntVar(&f.repN, "repeat-last-n", def.RepeatLastN, "tokens the repetition penalty looks back over")
	fs.Int64Var(&f.seed, "seed", -1, "random seed (-1: from the clock)")
}

// options checks the flags and returns the sampler they describe.
func (f *samplerFlags) options() (kiln.SamplerOptions, error) {
	for _, c := range []struct {
		bad  bool
		flag string
		v    any
		want string
	}{
		{f.temp < 0 || math.IsNaN(f.temp), "--temp", f.temp, "must be at least 0"},
		{!(f.topP >= 0 && f.topP <= 1), "--top-p", f.topP, "must be in [0, 1]"},
		{!(f.minP >= 0 && f.minP <= 1), "--min-p", f.minP, "must be in [0, 1]"},
		{!(f.rep > 0), "--repeat-penalty", f.rep, "must be positive"},
		{f.topK < 0, "--top-k", f.topK, "must not be negative"},
		{f.repN < 0, "--repeat-last-n", f.repN, "must not be negative"},
	} {
		if c.bad {
			return kiln.SamplerOptions{}, fmt.Errorf("%w: %s %v %s", errUsage, c.flag, c.v, c.want)
		}
	}
	seed := uint64(f.seed)
	if f.seed < 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return kiln.SamplerOptions{Temp: float32(f.temp), TopK: f.topK, TopP: float32(f.topP), MinP: float32(f.minP),
		RepeatPenalty: float32(f.rep), RepeatLastN: f.repN, Seed: seed}, nil
}

const templateFlagUsage = `chat template: "chatml", or a file of Jinja source (default: the model's tokenizer.chat_template)`

// chatTemplate picks the template named by --chat-template, or the model's.
// It also returns stop strings the template needs: ChatML's end-of-turn text
// on a vocabulary where it is not a token (so not an end-of-generation id).
func chatTemplate(m *kiln.Model, name string) (*chat.Template, []string, error) {
	switch name {
	case "":
		t, err := m.ChatTemplate()
		if err == chat.ErrNoTemplate {
			return nil, nil, fmt.Errorf("%w; pass --chat-template chatml to use ChatML, or --chat-template FILE", err)
		}
		return t, nil, err
	case "chatml":
		t, err := m.NewChatTemplate(chat.ChatML)
		var stops []string
		if _, ok := m.Tok.Lookup("<|im_end|>"); !ok {
			stops = []string{"<|im_end|>", "<|im_start|>"}
		}
		return t, stops, err
	}
	src, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("--chat-template: %w", err)
	}
	t, err := m.NewChatTemplate(string(src))
	return t, nil, err
}
