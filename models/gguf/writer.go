package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/kiln-ml/kiln/ops/quant"
)

// WriterTensor is one tensor to write: its description and its bytes, which
// must be exactly the size Dims and Type imply.
type WriterTensor struct {
	Name string
	Dims []uint64 // ggml order: Dims[0] is the row length
	Type quant.Type
	Data []byte
}

// Write writes a GGUF file of the given version (2 or 3) to w: the metadata in
// the order given, then the tensors in the order given, each placed at the
// next multiple of alignment and zero-padded. An alignment of 0 means the
// general.alignment in kvs, or DefaultAlignment when there is none.
//
// Everything the reader checks is checked first, so Write fails rather than
// produce a file Parse would reject. When alignment differs from
// DefaultAlignment a general.alignment key is appended unless kvs already
// carry one, which must then agree.
func Write(w io.Writer, version uint32, kvs []KV, tensors []WriterTensor, alignment int) error {
	if version != 2 && version != 3 {
		return fmt.Errorf("gguf: write: unsupported version %d (want 2 or 3)", version)
	}
	if alignment == 0 {
		alignment = DefaultAlignment
		for _, kv := range kvs {
			if a, ok := kv.Value.V.(uint32); ok && kv.Key == AlignmentKey && kv.Value.Type == Uint32 {
				alignment = int(a)
			}
		}
	}
	if alignment < 0 || alignment&(alignment-1) != 0 || alignment > math.MaxInt32 {
		return fmt.Errorf("gguf: write: alignment %d is not a power of two below 2^31", alignment)
	}

	seen := make(map[string]bool, len(kvs)+1)
	for i, kv := range kvs {
		if kv.Key == "" {
			return fmt.Errorf("gguf: write: kv %d has an empty key", i)
		}
		if seen[kv.Key] {
			return fmt.Errorf("gguf: write: duplicate key %q", kv.Key)
		}
		seen[kv.Key] = true
		if err := kv.Value.check(0); err != nil {
			return fmt.Errorf("gguf: write: key %q: %w", kv.Key, err)
		}
		if kv.Key == AlignmentKey {
			if a, ok := kv.Value.V.(uint32); !ok || int(a) != alignment {
				return fmt.Errorf("gguf: write: key %q is %s %v but alignment is %d", AlignmentKey, kv.Value.typeName(), kv.Value.V, alignment)
			}
		}
	}
	if alignment != DefaultAlignment && !seen[AlignmentKey] {
		kvs = append(kvs[:len(kvs):len(kvs)], KV{AlignmentKey, Value{Type: Uint32, V: uint32(alignment)}})
	}

	offsets := make([]uint64, len(tensors))
	var off uint64
	names := make(map[string]bool, len(tensors))
	for i, t := range tensors {
		if t.Name == "" {
			return fmt.Errorf("gguf: write: tensor %d has an empty name", i)
		}
		if names[t.Name] {
			return fmt.Errorf("gguf: write: duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		size, err := tensorSize(t.Dims, t.Type)
		if err != nil {
			return fmt.Errorf("gguf: write: tensor %q: %w", t.Name, err)
		}
		if int64(len(t.Data)) != size {
			return fmt.Errorf("gguf: write: tensor %q: %d bytes of data, want %d for %v %s", t.Name, len(t.Data), size, t.Dims, t.Type)
		}
		offsets[i] = off
		off += pad(uint64(size), alignment)
	}

	e := &encoder{w: bufio.NewWriterSize(w, 64<<10)}
	e.u32(Magic)
	e.u32(version)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	for i, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(offsets[i])
	}
	if len(tensors) > 0 {
		// Without tensors there is no data section to align, and vocabulary
		// files from llama.cpp end right after the metadata.
		e.zeros(pad(e.n, alignment) - e.n)
	}
	for _, t := range tensors {
		e.write(t.Data)
		e.zeros(pad(uint64(len(t.Data)), alignment) - uint64(len(t.Data)))
	}
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err != nil {
		return fmt.Errorf("gguf: write: %w", e.err)
	}
	return nil
}

// pad rounds n up to a multiple of alignment.
func pad(n uint64, alignment int) uint64 {
	a := uint64(alignment)
	return (n + a - 1) / a * a
}

// encoder writes little-endian fields, remembering the first error and the
// byte count so padding can be computed without seeking.
type encoder struct {
	w   *bufio.Writer
	n   uint64
	err error
	buf [8]byte
}

func (e *encoder) write(p []byte) {
	if e.err != nil {
		return
	}
	_, e.err = e.w.Write(p)
	e.n += uint64(len(p))
}

func (e *encoder) zeros(n uint64) {
	for ; n > 0; n-- {
		if e.err == nil {
			e.err = e.w.WriteByte(0)
			e.n++
		}
	}
}

func (e *encoder) u8(x uint8) { e.write([]byte{x}) }

func (e *encoder) u16(x uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], x)
	e.write(e.buf[:2])
}

func (e *encoder) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], x)
	e.write(e.buf[:4])
}

func (e *encoder) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], x)
	e.write(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
		e.n += uint64(len(s))
	}
}

// value writes v's payload (not its type tag); v has passed check.
func (e *encoder) value(v Value) {
	switch x := v.V.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		e.u8(b2u(x))
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		e.u32(uint32(v.ElemType))
		e.u64(uint64(v.Len()))
		e.array(v.V)
	}
}

func (e *encoder) array(a any) {
	switch a := a.(type) {
	case []uint8:
		e.write(a)
	case []int8:
		for _, x := range a {
			e.u8(uint8(x))
		}
	case []uint16:
		for _, x := range a {
			e.u16(x)
		}
	case []int16:
		for _, x := range a {
			e.u16(uint16(x))
		}
	case []uint32:
		for _, x := range a {
			e.u32(x)
		}
	case []int32:
		for _, x := range a {
			e.u32(uint32(x))
		}
	case []float32:
		for _, x := range a {
			e.u32(math.Float32bits(x))
		}
	case []bool:
		for _, x := range a {
			e.u8(b2u(x))
		}
	case []string:
		for _, x := range a {
			e.str(x)
		}
	case []uint64:
		for _, x := range a {
			e.u64(x)
		}
	case []int64:
		for _, x := range a {
			e.u64(uint64(x))
		}
	case []float64:
		for _, x := range a {
			e.u64(math.Float64bits(x))
		}
	case []Value:
		for _, x := range a {
			e.value(x)
		}
	}
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
