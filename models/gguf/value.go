package gguf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is the type tag of a GGUF metadata value. The numbers are the
// ones the format stores, so they must not be renumbered.
type ValueType uint32

// GGUF metadata value types, numbered as the format numbers them.
const (
	Uint8   ValueType = 0
	Int8    ValueType = 1
	Uint16  ValueType = 2
	Int16   ValueType = 3
	Uint32  ValueType = 4
	Int32   ValueType = 5
	Float32 ValueType = 6
	Bool    ValueType = 7
	String  ValueType = 8
	Array   ValueType = 9
	Uint64  ValueType = 10
	Int64   ValueType = 11
	Float64 ValueType = 12
)

var valueTypeNames = [...]string{
	Uint8: "uint8", Int8: "int8", Uint16: "uint16", Int16: "int16",
	Uint32: "uint32", Int32: "int32", Float32: "float32", Bool: "bool",
	String: "string", Array: "array", Uint64: "uint64", Int64: "int64",
	Float64: "float64",
}

// String returns the Go-style name of t ("uint32"), or "type(N)" for a tag
// the format does not define, so errors can show what a file really holds.
func (t ValueType) String() string {
	if t.Known() {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Known reports whether t is one of the types the format defines.
func (t ValueType) Known() bool { return t <= Float64 }

// minSize is the fewest bytes a value of type t can occupy in a file. The
// reader multiplies it by an element count before allocating, so a header
// that lies about a count cannot make it allocate more than the file holds.
func (t ValueType) minSize() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Uint64, Int64, Float64, String: // a string is at least its length
		return 8
	case Array: // element type + count
		return 12
	}
	return 1
}

// Value is one decoded metadata value.
//
// V holds scalars as their natural Go type (uint8, int8, uint16, int16,
// uint32, int32, float32, bool, string, uint64, int64, float64) and arrays
// as a slice of that type ([]uint32, []string, ...). An array of arrays is a
// []Value whose elements are themselves arrays. ElemType is meaningful only
// when Type is Array.
type Value struct {
	Type     ValueType
	ElemType ValueType
	V        any
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// ValueOf wraps a Go value in a Value, inferring the GGUF type from the Go
// type, so writers need not spell out Type and ElemType by hand. It accepts
// the scalar and slice types listed on Value, and []Value for an array of
// arrays (each element must itself be an array).
func ValueOf(x any) (Value, error) {
	if t, ok := scalarType(x); ok {
		return Value{Type: t, V: x}, nil
	}
	if t, ok := sliceType(x); ok {
		return Value{Type: Array, ElemType: t, V: x}, nil
	}
	return Value{}, fmt.Errorf("gguf: no GGUF type for Go type %T", x)
}

// MustValueOf is ValueOf for values known at compile time; it panics on a Go
// type GGUF cannot hold.
func MustValueOf(x any) Value {
	v, err := ValueOf(x)
	if err != nil {
		panic(err)
	}
	return v
}

func scalarType(x any) (ValueType, bool) {
	switch x.(type) {
	case uint8:
		return Uint8, true
	case int8:
		return Int8, true
	case uint16:
		return Uint16, true
	case int16:
		return Int16, true
	case uint32:
		return Uint32, true
	case int32:
		return Int32, true
	case float32:
		return Float32, true
	case bool:
		return Bool, true
	case string:
		return String, true
	case uint64:
		return Uint64, true
	case int64:
		return Int64, true
	case float64:
		return Float64, true
	}
	return 0, false
}

func sliceType(x any) (ValueType, bool) {
	switch x.(type) {
	case []uint8:
		return Uint8, true
	case []int8:
		return Int8, true
	case []uint16:
		return Uint16, true
	case []int16:
		return Int16, true
	case []uint32:
		return Uint32, true
	case []int32:
		return Int32, true
	case []float32:
		return Float32, true
	case []bool:
		return Bool, true
	case []string:
		return String, true
	case []uint64:
		return Uint64, true
	case []int64:
		return Int64, true
	case []float64:
		return Float64, true
	case []Value:
		return Array, true
	}
	return 0, false
}

// Len returns the number of elements of an array value, or -1 for a scalar
// or a Value whose V does not match its Type.
func (v Value) Len() int {
	if v.Type != Array {
		return -1
	}
	switch a := v.V.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	case []Value:
		return len(a)
	}
	return -1
}

// typeName describes v's type for error messages: "uint32", "array of string".
func (v Value) typeName() string {
	if v.Type == Array {
		return "array of " + v.ElemType.String()
	}
	return v.Type.String()
}

// check reports whether V holds the Go type that Type and ElemType promise,
// recursing into arrays of arrays; depth is the number of enclosing arrays.
// The writer uses it so that a file it writes is one the reader accepts.
func (v Value) check(depth int) error {
	if !v.Type.Known() {
		return fmt.Errorf("unknown value type %d", uint32(v.Type))
	}
	if v.Type != Array {
		if t, ok := scalarType(v.V); !ok || t != v.Type {
			return fmt.Errorf("type %s but value is %T", v.Type, v.V)
		}
		return nil
	}
	if depth >= maxDepth {
		return fmt.Errorf("arrays nested deeper than %d levels", maxDepth)
	}
	t, ok := sliceType(v.V)
	if !ok || t != v.ElemType {
		return fmt.Errorf("type %s but value is %T", v.typeName(), v.V)
	}
	if t == Array {
		for i, e := range v.V.([]Value) {
			if e.Type != Array {
				return fmt.Errorf("element %d of array of arrays is %s", i, e.Type)
			}
			if err := e.check(depth + 1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	}
	return nil
}

// String formats v for people: scalars as Go literals, arrays in brackets.
// Long arrays are printed in full; Describe abbreviates them.
func (v Value) String() string {
	var b strings.Builder
	v.format(&b, -1, -1)
	return b.String()
}

// format writes v to b, showing at most maxArray elements of each array
// (all when negative) and at most maxString bytes of each string (all when
// negative).
func (v Value) format(b *strings.Builder, maxArray, maxString int) {
	if v.Type != Array {
		formatScalar(b, v.V, maxString)
		return
	}
	n := v.Len()
	if n < 0 {
		fmt.Fprintf(b, "%v", v.V)
		return
	}
	shown := n
	if maxArray >= 0 && shown > maxArray {
		shown = maxArray
	}
	b.WriteByte('[')
	for i := range shown {
		if i > 0 {
			b.WriteString(", ")
		}
		if e, ok := v.V.([]Value); ok {
			e[i].format(b, maxArray, maxString)
		} else {
			formatScalar(b, index(v.V, i), maxString)
		}
	}
	if shown < n {
		if shown > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "... %d more", n-shown)
	}
	b.WriteByte(']')
}

func formatScalar(b *strings.Builder, x any, maxString int) {
	switch x := x.(type) {
	case string:
		if maxString >= 0 && len(x) > maxString {
			// Cut at a rune boundary so the quoted prefix stays readable.
			cut := maxString
			for cut > 0 && cut < len(x) && x[cut]&0xC0 == 0x80 {
				cut--
			}
			b.WriteString(strconv.Quote(x[:cut]))
			fmt.Fprintf(b, "...(%d bytes)", len(x))
			return
		}
		b.WriteString(strconv.Quote(x))
	case float32:
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	default:
		fmt.Fprint(b, x)
	}
}

// index returns element i of a scalar slice as an any.
func index(s any, i int) any {
	switch a := s.(type) {
	case []uint8:
		return a[i]
	case []int8:
		return a[i]
	case []uint16:
		return a[i]
	case []int16:
		return a[i]
	case []uint32:
		return a[i]
	case []int32:
		return a[i]
	case []float32:
		return a[i]
	case []bool:
		return a[i]
	case []string:
		return a[i]
	case []uint64:
		return a[i]
	case []int64:
		return a[i]
	case []float64:
		return a[i]
	}
	return nil
}

// ErrMissingKey is wrapped by the typed getters when a key is absent, so
// callers can tell an optional key that is missing (errors.Is) from one that
// is present with the wrong type.
var ErrMissingKey = errors.New("missing key")

func (f *File) lookup(key string) (Value, error) {
	v, ok := f.Lookup(key)
	if !ok {
		return Value{}, fmt.Errorf("gguf: key %q: %w", key, ErrMissingKey)
	}
	return v, nil
}

func wrongType(key, want string, v Value) error {
	return fmt.Errorf("gguf: key %q: want %s, have %s", key, want, v.typeName())
}

// String returns the string stored under key.
func (f *File) String(key string) (string, error) {
	v, err := f.lookup(key)
	if err != nil {
		return "", err
	}
	if s, ok := v.V.(string); ok && v.Type == String {
		return s, nil
	}
	return "", wrongType(key, "string", v)
}

// Bool returns the bool stored under key.
func (f *File) Bool(key string) (bool, error) {
	v, err := f.lookup(key)
	if err != nil {
		return false, err
	}
	if b, ok := v.V.(bool); ok && v.Type == Bool {
		return b, nil
	}
	return false, wrongType(key, "bool", v)
}

// Uint returns the integer stored under key as a uint64. Writers disagree on
// signedness (llama.cpp writes block_count as uint32, other tools as int32),
// so any integer type is accepted as long as the value is not negative.
func (f *File) Uint(key string) (uint64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	if v.Type == Array {
		return 0, wrongType(key, "unsigned integer", v)
	}
	u, i, signed, ok := toInt(v.V)
	if !ok {
		return 0, wrongType(key, "unsigned integer", v)
	}
	if signed {
		if i < 0 {
			return 0, fmt.Errorf("gguf: key %q: want unsigned integer, have negative %s %d", key, v.Type, i)
		}
		return uint64(i), nil
	}
	return u, nil
}

// Int returns the integer stored under key as an int64; any integer type is
// accepted, but a uint64 above math.MaxInt64 is an error rather than wrapping.
func (f *File) Int(key string) (int64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	if v.Type == Array {
		return 0, wrongType(key, "integer", v)
	}
	u, i, signed, ok := toInt(v.V)
	if !ok {
		return 0, wrongType(key, "integer", v)
	}
	if signed {
		return i, nil
	}
	if u > math.MaxInt64 {
		return 0, fmt.Errorf("gguf: key %q: %s %d overflows int64", key, v.Type, u)
	}
	return int64(u), nil
}

// Float returns the number stored under key as a float64. Integers are
// converted too, because some writers store e.g. rope.freq_base as an integer.
func (f *File) Float(key string) (float64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	if v.Type == Array {
		return 0, wrongType(key, "float", v)
	}
	switch x := v.V.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	u, i, signed, ok := toInt(v.V)
	if !ok {
		return 0, wrongType(key, "float", v)
	}
	if signed {
		return float64(i), nil
	}
	return float64(u), nil
}

// toInt widens any Go integer to uint64 (unsigned) or int64 (signed).
func toInt(x any) (u uint64, i int64, signed, ok bool) {
	switch x := x.(type) {
	case uint8:
		return uint64(x), 0, false, true
	case uint16:
		return uint64(x), 0, false, true
	case uint32:
		return uint64(x), 0, false, true
	case uint64:
		return x, 0, false, true
	case int8:
		return 0, int64(x), true, true
	case int16:
		return 0, int64(x), true, true
	case int32:
		return 0, int64(x), true, true
	case int64:
		return 0, x, true, true
	}
	return 0, 0, false, false
}

// Strings returns a copy of the string array stored under key.
func (f *File) Strings(key string) ([]string, error) {
	v, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	if a, ok := v.V.([]string); ok && v.Type == Array {
		return append([]string(nil), a...), nil
	}
	return nil, wrongType(key, "array of string", v)
}

// Float32s returns a copy of the float array stored under key; float64
// arrays are narrowed, since model code works in float32.
func (f *File) Float32s(key string) ([]float32, error) {
	v, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	if v.Type == Array {
		switch a := v.V.(type) {
		case []float32:
			return append([]float32(nil), a...), nil
		case []float64:
			out := make([]float32, len(a))
			for i, x := range a {
				out[i] = float32(x)
			}
			return out, nil
		}
	}
	return nil, wrongType(key, "array of float32", v)
}

// Int32s returns the integer array stored under key converted to int32
// (token types, per-layer head counts). Any integer element type is accepted
// because writers differ; an element outside int32's range is an error.
func (f *File) Int32s(key string) ([]int32, error) {
	v, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	if v.Type != Array {
		return nil, wrongType(key, "array of int32", v)
	}
	if a, ok := v.V.([]int32); ok {
		return append([]int32(nil), a...), nil
	}
	n := v.Len()
	if n < 0 || v.ElemType == Array {
		return nil, wrongType(key, "array of int32", v)
	}
	out := make([]int32, n)
	for j := range n {
		u, i, signed, ok := toInt(index(v.V, j))
		if !ok {
			return nil, wrongType(key, "array of int32", v)
		}
		if !signed {
			if u > math.MaxInt32 {
				return nil, fmt.Errorf("gguf: key %q: element %d (%d) overflows int32", key, j, u)
			}
			i = int64(u)
		}
		if i < math.MinInt32 || i > math.MaxInt32 {
			return nil, fmt.Errorf("gguf: key %q: element %d (%d) overflows int32", key, j, i)
		}
		out[j] = int32(i)
	}
	return out, nil
}
