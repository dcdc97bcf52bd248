// Package kvquant holds the storage formats of the KV cache: f32, f16,
// llama.cpp's q8_0 and q4_0 blocks, and the turbo_kv_3b/4b/5b key formats
// (a per-vector norm, a randomized Hadamard rotation, and a Lloyd-Max
// codebook for the standard normal per coordinate). Each format has a
// reference pack and unpack for one head vector; the attention over packed
// caches lives in ops.
//
// A cache row holds n_kv_head head vectors one after another; every format
// stores each head vector in whole blocks, so a head's bytes are
// HeadBytes(head_dim) long and start at head·HeadBytes(head_dim).
package kvquant

import (
	"fmt"
	"strings"

	"github.com/kiln-ml/kiln/ops/quant"
)

// Type is a KV cache storage format. The zero value is F32.
type Type uint8

// The cache formats.
const (
	F32 Type = iota
	F16
	Q8_0
	Q4_0
	Turbo3 // turbo_kv_3b: keys only
	Turbo4 // turbo_kv_4b: keys only
	Turbo5 // turbo_kv_5b: keys only
	numTypes
)

var names = [numTypes]string{"f32", "f16", "q8_0", "q4_0", "turbo_kv_3b", "turbo_kv_4b", "turbo_kv_5b"}

// Types lists every format, for help texts and tests.
func Types() []Type {
	var t []Type
	for i := F32; i < numTypes; i++ {
		t = append(t, i)
	}
	return t
}

func (t Type) String() string {
	if t < numTypes {
		return names[t]
	}
	return fmt.Sprintf("kvtype(%d)", uint8(t))
}

// Parse maps a name ("f16", "fp16", "q8_0", "turbo_kv_4b") to its Type.
func Parse(s string) (Type, error) {
	l := strings.ToLower(s)
	switch l {
	case "fp32":
		return F32, nil
	case "fp16":
		return F16, nil
	}
	for i, n := range names {
		if n == l {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("unknown KV cache type %q (want one of %s)", s, strings.Join(names[:], ", "))
}

// Turbo reports whether t is a turbo_kv format, and Bits its code width.
func (t Type) Turbo() bool { return t >= Turbo3 && t <= Turbo5 }

// Bits is the code width of a turbo format (0 for the others).
func (t Type) Bits() int {
	if t.Turbo() {
		return int(t-Turbo3) + 3
	}
	return 0
}

// Block is the quant.Type that stores t (F32, F16, Q8_0, Q4_0), or false for the turbo formats.
func (t Type) Block() (quant.Type, bool) {
	switch t {
	case F32:
		return quant.F32, true
	case F16:
		return quant.F16, true
	case Q8_0:
		return quant.Q8_0, true
	case Q4_0:
		return quant.Q4_0, true
	}
	return 0, false
}

// Check reports whether t can store head vectors of headDim elements, as
// keys (values=false) or values. The error names the format and the reason.
func (t Type) Check(headDim int, values bool) error {
	if t >= numTypes {
		return fmt.Errorf("unknown KV cache type %d", uint8(t))
	}
	if t.Turbo() {
		if values {
			return fmt.Errorf("KV cache type %s is for keys only; values take f32, f16, q8_0 or q4_0", t)
		}
		if headDim < 32 || headDim&(headDim-1) != 0 {
			return fmt.Errorf("KV cache type %s needs a power-of-two head size of at least 32, have %d", t, headDim)
		}
		return nil
	}
	q, _ := t.Block()
	if headDim <= 0 || headDim%q.BlockSize() != 0 {
		return fmt.Errorf("KV cache type %s needs a head size that is a multiple of %d, have %d", t, q.BlockSize(), headDim)
	}
	return nil
}

// HeadBytes is the size of one packed head vector of headDim elements
// (which Check must accept).
func (t Type) HeadBytes(headDim int) int {
	if t.Turbo() {
		return turboHeader + headDim*t.Bits()/8
	}
	q, _ := t.Block()
	n, _ := q.RowBytes(headDim)
	return n
}
