package kiln_test

import (
	"context"
	"fmt"
	"log"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/tokenizer"
)

// Load a model, tokenize a prompt and stream a completion.
func Example() {
	m, err := kiln.Load("../shared/models/stories260K-f32.gguf", kiln.Options{Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ids, err := m.Tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddBOS: true})
	if err != nil {
		log.Fatal(err)
	}
	s, err := m.NewSession()
	if err != nil {
		log.Fatal(err)
	}
	smp := kiln.NewSampler(kiln.SamplerOptions{Temp: 0}) // greedy
	dec := m.Tok.NewStreamDecoder()
	for id, err := range s.Generate(context.Background(), ids, 16, smp) {
		if err != nil {
			log.Fatal(err)
		}
		text, _ := dec.Next(id)
		fmt.Print(text)
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
