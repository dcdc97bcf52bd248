package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kiln-ml/kiln/models/synth"
)

func cmdSynth(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("synth", stderr)
	shape := fs.String("shape", "", "model shape: "+strings.Join(synth.ShapeNames(), ", "))
	typ := fs.String("type", "q8_0", "weight types: "+strings.Join(synth.Mixes, ", "))
	out := fs.String("o", "", "output GGUF file (required)")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	s, ok := synth.Shapes[*shape]
	if !ok {
		return fmt.Errorf("%w: --shape %q: want one of %s", errUsage, *shape, strings.Join(synth.ShapeNames(), ", "))
	}
	known := false
	for _, m := range synth.Mixes {
		known = known || m == *typ
	}
	if !known {
		return fmt.Errorf("%w: --type %q: want one of %s", errUsage, *typ, strings.Join(synth.Mixes, ", "))
	}
	if *out == "" {
		return fmt.Errorf("%w: -o FILE is required", errUsage)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	start := time.Now()
	bw := bufio.NewWriterSize(f, 1<<20)
	err = synth.Write(bw, s, *typ, *seed)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	st, _ := os.Stat(*out)
	fmt.Fprintf(stderr, "wrote %s: %s %s, %.1f MiB in %.1f s\n", *out, *shape, *typ, float64(st.Size())/(1<<20), time.Since(start).Seconds())
	return nil
}
