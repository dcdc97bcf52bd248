package kiln_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"sync"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/chat"
)

// Load a model once and stream a completion. (The examples read the test
// models in ../shared, which CI has; those whose output is shown are checked.)
func Example() {
	m, err := kiln.Load("../shared/models/gocoder-11m-q8_0.gguf", kiln.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession()
	if err != nil {
		log.Fatal(err)
	}
	for text, err := range s.GenerateText(context.Background(), "func Sum(xs []int) int {", kiln.GenerateOptions{MaxTokens: 48}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(text)
	}
	fmt.Println()
}

// Run several conversations on one model from their own goroutines: each
// session has its own KV cache and sampler.
func ExampleModel_NewSession() {
	m, err := kiln.Load("../shared/models/stories260K-q8_0.gguf", kiln.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	prompts := []string{"Once upon a time", "The little dog", "Lily saw a bird"}
	out := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() {
			s, err := m.NewSession()
			if err != nil {
				log.Fatal(err)
			}
			var b strings.Builder
			opt := kiln.GenerateOptions{MaxTokens: 32, Sampler: kiln.SamplerOptions{Temp: 0.8, TopK: 40, Seed: uint64(i)}}
			for text, err := range s.GenerateText(context.Background(), p, opt) {
				if err != nil {
					log.Fatal(err)
				}
				b.WriteString(text)
			}
			out[i] = p + b.String()
		})
	}
	wg.Wait()
	for _, text := range out {
		fmt.Println(text)
	}
}

// Generate token ids with a sampler, stopping early through a context.
func ExampleSession_Generate() {
	m, err := kiln.Load("../shared/models/stories260K-f32.gguf", kiln.Options{Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ids, err := m.Tokenize("Once upon a time")
	if err != nil {
		log.Fatal(err)
	}
	s, err := m.NewSession()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	smp := kiln.NewSampler(kiln.SamplerOptions{Temp: 0}) // greedy
	dec := m.Tok.NewStreamDecoder()
	for id, err := range s.Generate(ctx, ids, 100, smp) {
		if err != nil { // context.Canceled once cancel runs
			break
		}
		text, _ := dec.Next(id)
		fmt.Print(text)
		if strings.Contains(text, ".") {
			cancel() // stop at the end of the first sentence
		}
	}
	fmt.Println(dec.Flush())
}

// Evaluate tokens in one pass and read the logits of every position.
func ExampleSession_Eval() {
	m, err := kiln.Load("../shared/models/stories260K-f32.gguf", kiln.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	s, _ := m.NewSession()
	tokens := []int32{1, 348, 342, 364}
	logits, err := s.Eval(tokens, true)
	if err != nil {
		log.Fatal(err)
	}
	nv := m.Hyper().NVocab
	for i := range tokens {
		fmt.Println(i, kiln.Argmax(logits[i*nv:(i+1)*nv]))
	}
}

// Logits for a token list, one row per token, on a fresh session.
func ExampleModel_Logits() {
	m, err := kiln.Load("../shared/models/gocoder-11m-q8_0.gguf", kiln.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ids, _ := m.Tokenize("package main")
	rows, err := m.Logits(ids)
	if err != nil {
		log.Fatal(err)
	}
	last := rows[len(rows)-1]
	next, _ := m.Detokenize([]int32{kiln.Argmax(last)})
	fmt.Printf("after %q the likeliest token is %q\n", "package main", next)
	// Output:
	// after "package main" the likeliest token is "\n"
}

// Turn text into token ids and back.
func ExampleModel_Tokenize() {
	m, err := kiln.Load("../shared/models/gocoder-11m-q8_0.gguf", kiln.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ids, err := m.Tokenize("func add(a, b int) int")
	if err != nil {
		log.Fatal(err)
	}
	text, err := m.Detokenize(ids)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ids)
	fmt.Println(text)
	// Output:
	// [0 341 683 8 65 12 289 372 9 372]
	// func add(a, b int) int
}

// Read a model's metadata.
func ExampleModel_Info() {
	m, err := kiln.Load("../shared/models/gocoder-11m-q8_0.gguf", kiln.Options{Context: 512})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	fmt.Printf("%s (%s): %d layers, vocabulary %d, trained on %d tokens of context, sessions hold %d\n",
		info.Name, info.Arch, info.Layers, info.VocabSize, info.ContextTrain, info.Context)
	// Output:
	// gocoder-11m (llama): 6 layers, vocabulary 4096, trained on 1024 tokens of context, sessions hold 512
}

// Format a conversation with the model's chat template (ChatML when the
// file has none) and continue it.
func ExampleModel_ChatTemplate() {
	m, err := kiln.Load("../shared/models/stories260K-q8_0.gguf", kiln.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	tmpl, err := m.ChatTemplate()
	if err == chat.ErrNoTemplate {
		tmpl, err = m.NewChatTemplate(chat.ChatML)
	}
	if err != nil {
		log.Fatal(err)
	}
	msgs := []chat.Message{{Role: "user", Content: "Tell me a story."}}
	prompt, err := tmpl.Render(msgs, true)
	if err != nil {
		log.Fatal(err)
	}
	s, _ := m.NewSession()
	opt := kiln.GenerateOptions{MaxTokens: 32, Stop: []string{"<|im_end|>"}}
	for text, err := range s.GenerateText(context.Background(), prompt, opt) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(text)
	}
	fmt.Println()
}
