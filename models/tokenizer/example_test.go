package tokenizer_test

import (
	"fmt"

	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/models/tokenizer"
)

// A SentencePiece vocabulary small enough to write out: byte tokens for
// anything it cannot spell, and scores that decide which pairs merge first.
func Example() {
	v := tokenizer.Vocab{
		Model:  "llama",
		Tokens: []string{"<unk>", "<s>", "</s>", "▁", "h", "i", "▁h", "▁hi", "<0xC3>", "<0xA9>"},
		Scores: []float32{0, 0, 0, -1, -2, -3, -4, -5, 0, 0},
		Types:  []int32{2, 3, 3, 1, 1, 1, 1, 1, 6, 6},
		BOS:    1, EOS: 2, UNK: 0, PAD: -1,
		AddBOS: true, AddSpacePrefix: true,
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		panic(err)
	}
	ids, err := tok.Encode("hi é", tokenizer.EncodeOptions{AddBOS: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(ids)

	text, _ := tok.Decode(ids)
	fmt.Printf("%q\n", text)

	// Streaming holds back the first byte of é until the second arrives.
	d := tok.NewStreamDecoder()
	for _, id := range ids {
		s, _ := d.Next(id)
		fmt.Printf("%q ", s)
	}
	fmt.Println()
	// Output:
	// [1 7 3 8 9]
	// "hi é"
	// "" " hi" " " "" "é"
}

// Loading the tokenizer of a model file and counting a prompt's tokens.
func ExampleFromGGUF() {
	f, err := gguf.Open("model.gguf")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, _ := tok.Encode("<|im_start|>user\nHello<|im_end|>\n", tokenizer.EncodeOptions{AddBOS: true, ParseSpecial: true})
	fmt.Println(len(ids), "tokens; ends generation:", tok.IsEOG(ids[len(ids)-2]))
}
