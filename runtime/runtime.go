// Package runtime defines the contract every backend (cpu, cuda, metal)
// implements: load a lowered Program with its weights into an Executable,
// then run it one step (one token, or one prefill chunk) at a time.
//
// Import it under another name (krt) to avoid shadowing Go's runtime.
package runtime

import (
	"fmt"

	"github.com/kiln-ml/kiln/lower"
)

// Weights gives a backend the raw bytes of each named parameter, in the
// storage format the Program's buffer declares (typically an mmap'd GGUF).
type Weights interface {
	TensorData(name string) ([]byte, bool)
}

// Inputs are the per-step values: the token ids (exactly the Program's T)
// and the position of the first one.
type Inputs struct {
	Tokens []int32
	Pos    int
}

// State holds the buffers that persist across steps (KV caches). One State
// is one conversation; it can be used with every Executable of the same
// model (decode and prefill shape classes share it).
type State interface {
	// Reset clears the caches.
	Reset()
	// Bytes is the memory the state holds.
	Bytes() int64
}

// Executable is a Program loaded on a backend.
type Executable interface {
	Program() *lower.Program
	// NewState allocates the state buffers the Program declares.
	NewState() State
	// Step runs the Program once. It is not safe for concurrent use.
	Step(s State, in Inputs) error
	// Output returns output i of the last Step; valid until the next Step.
	Output(i int) []float32
	Close() error
}

// CheckInputs validates one step's inputs for a program of tokens token
// ids over a context of ctx positions and a vocabulary of vocab ids (0 when
// not known): the count, the positions, every id. Backends call it before
// touching any buffer and wrap its error with their name and the program's.
func CheckInputs(in Inputs, tokens, ctx, vocab int) error {
	if len(in.Tokens) != tokens {
		return fmt.Errorf("%d tokens, program takes %d", len(in.Tokens), tokens)
	}
	if in.Pos < 0 || (ctx > 0 && in.Pos+tokens > ctx) {
		return fmt.Errorf("positions %d..%d exceed the context of %d", in.Pos, in.Pos+tokens-1, ctx)
	}
	for i, id := range in.Tokens {
		if id < 0 || (vocab > 0 && int(id) >= vocab) {
			return fmt.Errorf("token %d: id %d out of range [0,%d)", i, id, vocab)
		}
	}
	return nil
}

// WeightData returns the bytes of weight buffer b from w, checking that
// they are there and of the size the Program declares.
func WeightData(w Weights, b *lower.Buffer) ([]byte, error) {
	data, ok := w.TensorData(b.Name)
	if !ok {
		return nil, fmt.Errorf("weight %q not found", b.Name)
	}
	if int64(len(data)) != b.Size {
		return nil, fmt.Errorf("weight %q has %d bytes, want %d", b.Name, len(data), b.Size)
	}
	return data, nil
}

// InputBuffers finds a Program's two inputs, "tokens" and "pos", and its
// token count; any other input, or a missing one, is an error.
func InputBuffers(p *lower.Program) (tokens, pos, T int, err error) {
	tokens, pos = -1, -1
	for i := range p.Buffers {
		b := &p.Buffers[i]
		if b.Space != lower.InputSpace {
			continue
		}
		switch b.Name {
		case "tokens":
			tokens, T = i, int(b.Type.Elems())
		case "pos":
			pos = i
		default:
			return 0, 0, 0, fmt.Errorf("unknown input %q", b.Name)
		}
	}
	if tokens < 0 || pos < 0 {
		return 0, 0, 0, fmt.Errorf("program lacks the tokens or pos input")
	}
	return tokens, pos, T, nil
}
