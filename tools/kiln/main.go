// Command kiln runs, inspects and measures GGUF models with the kiln compiler.
//
//	kiln run -m model.gguf -p "Once upon a time"
//	kiln logits -m model.gguf --tokens 1,2,3 --json
//	kiln ppl -m model.gguf -f text.txt -c 512
//	kiln tokenize -m model.gguf -p "hello"
//	kiln graph -m model.gguf --layer 0 --format dot
//	kiln inspect model.gguf
//	kiln chat -m model.gguf
//	kiln serve -m model.gguf --port 8080 --parallel 4
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

type command struct {
	name  string
	usage string
	run   func(args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"run", "generate text from a prompt", cmdRun},
	{"logits", "evaluate tokens in one pass and print logits", cmdLogits},
	{"ppl", "perplexity of a text, llama.cpp's method", cmdPPL},
	{"tokenize", "print the token ids of a text", cmdTokenize},
	{"graph", "dump a model's graph or lowered program", cmdGraph},
	{"inspect", "print a GGUF file's metadata and tensors", cmdInspect},
	{"bench", "measure prefill and decode speed (llama-bench's table)", cmdBench},
	{"synth", "write a random-weight GGUF at a real model's shape", cmdSynth},
	{"chat", "chat with a model in the terminal, using its chat template", cmdChat},
	{"serve", "serve an OpenAI-compatible HTTP API", cmdServe},
}

// errUsage marks an error whose message is usage text; the exit code is 2.
var errUsage = errors.New("usage")

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the CLI and returns the exit code; panics become errors so that
// a bug never reaches the user as a stack trace alone.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "kiln: internal error: %v\n%s", r, debug.Stack())
			code = 3
		}
	}()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				fmt.Fprintf(stderr, "kiln %s: %v\n", c.name, err)
				return 2
			default:
				fmt.Fprintf(stderr, "kiln %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "kiln: unknown command %q\n", args[0])
	printUsage(stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: kiln COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, fmt.Sprintf("  %-9s %s", c.name, c.usage))
	}
	sort.Strings(names)
	fmt.Fprintln(w, strings.Join(names, "\n"))
	fmt.Fprintln(w, "\nrun 'kiln COMMAND -h' for a command's flags")
}

// newFlags makes a FlagSet that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kiln "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags and rejects stray positional arguments unless allowed.
func parse(fs *flag.FlagSet, args []string, positional int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > positional {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(positional))
	}
	return nil
}

// isTerminal reports whether f is a character device (progress goes only there).
func isTerminal(f io.Writer) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
