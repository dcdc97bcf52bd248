// Package quant holds the tensor storage formats kiln reads from GGUF files
// (F32, F16, BF16 and the ggml block quantizations): their block geometry,
// dequantization, activation quantization and reference dot products.
//
// Type values equal ggml's type ids so that a GGUF tensor header maps
// directly onto a Type.
package quant

import "fmt"

// Type is a tensor storage format. Values match ggml's ggml_type enum.
type Type uint32

// Storage formats, numbered as ggml numbers them.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q2_K Type = 10
	Q3_K Type = 11
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	I8   Type = 24
	I16  Type = 25
	I32  Type = 26
	I64  Type = 27
	F64  Type = 28
	BF16 Type = 30
)

// QK_K is the super-block size of the k-quant formats.
const QK_K = 256

type typeInfo struct {
	name       string
	blockSize  int // elements per block
	blockBytes int // bytes per block
}

var types = map[Type]typeInfo{
	F32:  {"f32", 1, 4},
	F16:  {"f16", 1, 2},
	BF16: {"bf16", 1, 2},
	Q4_0: {"q4_0", 32, 2 + 16},
	Q4_1: {"q4_1", 32, 2 + 2 + 16},
	Q5_0: {"q5_0", 32, 2 + 4 + 16},
	Q5_1: {"q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0: {"q8_0", 32, 2 + 32},
	Q8_1: {"q8_1", 32, 2 + 2 + 32},
	Q2_K: {"q2_k", QK_K, QK_K/16 + QK_K/4 + 2 + 2},
	Q3_K: {"q3_k", QK_K, QK_K/8 + QK_K/4 + 12 + 2},
	Q4_K: {"q4_k", QK_K, 2 + 2 + 12 + QK_K/2},
	Q5_K: {"q5_k", QK_K, 2 + 2 + 12 + QK_K/8 + QK_K/2},
	Q6_K: {"q6_k", QK_K, QK_K/2 + QK_K/4 + QK_K/16 + 2},
	Q8_K: {"q8_k", QK_K, 4 + QK_K + QK_K/16*2},
	I8:   {"i8", 1, 1},
	I16:  {"i16", 1, 2},
	I32:  {"i32", 1, 4},
	I64:  {"i64", 1, 8},
	F64:  {"f64", 1, 8},
}

// Known reports whether t is a format kiln knows the geometry of.
func (t Type) Known() bool { _, ok := types[t]; return ok }

// String returns ggml's lower-case name for t ("q4_k"), or "type(N)".
func (t Type) String() string {
	if i, ok := types[t]; ok {
		return i.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for plain types).
func (t Type) BlockSize() int { return types[t].blockSize }

// BlockBytes is the number of bytes one block occupies.
func (t Type) BlockBytes() int { return types[t].blockBytes }

// RowBytes returns the bytes a row of n elements occupies, or an error when
// t is unknown or n is not a multiple of the block size.
func (t Type) RowBytes(n int) (int, error) {
	i, ok := types[t]
	if !ok {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if n < 0 || n%i.blockSize != 0 {
		return 0, fmt.Errorf("row of %d elements is not a multiple of %s block size %d", n, i.name, i.blockSize)
	}
	return n / i.blockSize * i.blockBytes, nil
}

// ParseType maps a ggml type name ("q8_0", "F16") to its Type.
func ParseType(s string) (Type, error) {
	for t, i := range types {
		if i.name == s || toLower(s) == i.name {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", s)
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
