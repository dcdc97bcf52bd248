package main

import (
	"fmt"
	"io"

	"github.com/kiln-ml/kiln/models"
	_ "github.com/kiln-ml/kiln/models/all" // every architecture, to describe the file's
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
	if err := f.Describe(stdout, *maxArr); err != nil {
		return err
	}
	// What kiln makes of the file: its architecture's structure, or why it cannot run it.
	fmt.Fprintf(stdout, "\narchitecture:\n")
	m, err := models.Load(f)
	if err != nil {
		_, err = fmt.Fprintf(stdout, "  not runnable: %v\n", err)
		return err
	}
	for _, l := range models.Summary(m) {
		if _, err := fmt.Fprintf(stdout, "  %s\n", l); err != nil {
			return err
		}
	}
	return nil
}
