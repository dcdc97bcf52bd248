package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/models/tokenizer"
)

func cmdTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tokenize", stderr)
	path := fs.String("m", "", "GGUF model or vocabulary file (required)")
	prompt := fs.String("p", "", "text to tokenize")
	file := fs.String("f", "", "file to tokenize")
	noBOS := fs.Bool("no-bos", false, "do not add BOS")
	noSpecial := fs.Bool("no-special", false, "treat special-token text as plain text")
	asJSON := fs.Bool("json", false, `print {"ids": [...]}`)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *path == "" {
		return fmt.Errorf("%w: -m FILE is required", errUsage)
	}
	if (*prompt == "") == (*file == "") {
		return fmt.Errorf("%w: give exactly one of -p TEXT or -f FILE", errUsage)
	}
	text := *prompt
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		text = string(b)
	}
	f, err := gguf.Open(*path)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return err
	}
	ids, err := tok.Encode(text, tokenizer.EncodeOptions{AddBOS: !*noBOS, ParseSpecial: !*noSpecial})
	if err != nil {
		return err
	}
	if *asJSON {
		if ids == nil {
			ids = []int32{}
		}
		return json.NewEncoder(stdout).Encode(map[string][]int32{"ids": ids})
	}
	for _, id := range ids {
		p, err := tok.Piece(id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%6d -> %q\n", id, p)
	}
	return nil
}
