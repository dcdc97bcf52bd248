package chat_test

import (
	"fmt"
	"log"

	"github.com/kiln-ml/kiln/models/chat"
)

func ExampleTemplate_Render() {
	tmpl, err := chat.New(chat.ChatML, chat.Options{})
	if err != nil {
		log.Fatal(err)
	}
	prompt, err := tmpl.Render([]chat.Message{
		{Role: "system", Content: "You are terse."},
		{Role: "user", Content: "Hi!"},
	}, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(prompt)
	// Output:
	// <|im_start|>system
	// You are terse.<|im_end|>
	// <|im_start|>user
	// Hi!<|im_end|>
	// <|im_start|>assistant
}
