package main

import (
	"fmt"
	"io"

	"github.com/kiln-ml/kiln/models/gguf"
)

func cmdInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", stderr)
	maxArr := fs.Int("arrays", 8, "array elements to show")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: kiln inspect FILE", errUsage)
	}
	f, err := gguf.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Describe(stdout, *maxArr)
}
