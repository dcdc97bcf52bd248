// Package gguf reads and writes GGUF files (versions 2 and 3), the format
// llama.cpp stores models in: metadata key-value pairs, tensor descriptions,
// and an aligned data section holding the tensors' bytes.
//
// Open memory-maps a file and validates every count, length, type, shape and
// offset before anything is used, so a corrupt or hostile file yields an error
// that names the problem instead of a panic or a huge allocation. Tensor data
// is handed out as slices of the read-only mapping, without copying.
package gguf

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/kiln-ml/kiln/ops/quant"
)

// Format constants.
const (
	// Magic is the first four bytes of every GGUF file, "GGUF", read as a
	// little-endian uint32.
	Magic uint32 = 0x46554747
	// DefaultAlignment is the data alignment of a file without a
	// general.alignment key.
	DefaultAlignment = 32
	// MaxDims is the most dimensions a tensor may have (ggml's GGML_MAX_DIMS).
	MaxDims = 4
	// AlignmentKey is the metadata key that overrides DefaultAlignment.
	AlignmentKey = "general.alignment"
)

// maxDepth bounds how deeply arrays may nest. The format allows arrays of
// arrays, but no real file nests them, and the bound keeps a hostile file
// from recursing without limit.
const maxDepth = 8

// Minimum encoded sizes, used to cap what a claimed count may allocate by
// what the bytes left could hold.
const (
	minKVSize         = 8 + 4 + 1         // key length, value type, 1-byte value
	minTensorInfoSize = 8 + 4 + 8 + 4 + 8 // name length, n_dims, one dim, type, offset
)

// maxPrealloc caps the capacity reserved up front for kvs and tensor infos.
// Real files have at most a few thousand of either; beyond that the slices
// grow as entries are actually read, so a count that lies (but stays below
// the file size) costs memory in proportion to what parses, not to the
// claim. Reserving left/minKVSize entries instead made a 4 GB file with a
// forged count allocate tens of GB before failing.
const maxPrealloc = 1 << 12

// ErrTruncated matches (errors.Is) every error for a file that ends before
// something it promises: a field, a string, an array or tensor data. A
// cut-off download fails this way, as does a length that lies.
var ErrTruncated = errors.New("file truncated")

// truncatedError keeps its own message but matches ErrTruncated, so the text
// can say precisely what ran past the end.
type truncatedError struct{ msg string }

func (e *truncatedError) Error() string        { return e.msg }
func (e *truncatedError) Is(target error) bool { return target == ErrTruncated }

func truncated(format string, args ...any) error {
	return &truncatedError{fmt.Sprintf(format, args...)}
}

// TensorInfo describes one tensor: its name, shape, storage type and where
// its bytes lie in the data section.
type TensorInfo struct {
	Name string
	// Dims are in ggml order: Dims[0] is the contiguous (row) length.
	Dims []uint64
	Type quant.Type
	// Offset is relative to the start of the data section (File.DataOffset).
	Offset uint64
	// Size is the tensor's length in bytes, computed from Dims and Type.
	Size int64
}

// NumElements returns the number of elements, the product of Dims.
func (t *TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d)
	}
	return n
}

// File is a parsed GGUF file. KVs and Tensors are copies owned by the File and
// stay valid after Close; slices from TensorData point into the mapping and do
// not.
type File struct {
	// Version is the format version, 2 or 3.
	Version uint32
	// KVs holds the metadata in file order.
	KVs []KV
	// Tensors holds the tensor descriptions in file order.
	Tensors []TensorInfo
	// Alignment is the data alignment in bytes: general.alignment, or
	// DefaultAlignment when the key is absent.
	Alignment int
	// DataOffset is the absolute file offset of the data section.
	DataOffset int64

	data    []byte       // the whole file, mapped read-only or in memory
	size    int64        // len(data), kept after Close
	unmap   func() error // releases data; nil for Parse
	keys    map[string]int
	tensors map[string]int
}

// Open memory-maps the file at path read-only and parses it. The File must be
// closed to release the mapping, and the file must not be truncated while it
// is open (touching pages that vanished faults). Errors read
// "gguf: open PATH: ...". A File is safe for concurrent use until Close.
func Open(path string) (*File, error) {
	fail := func(err error) (*File, error) {
		// An *fs.PathError already names the path; keep only its cause so the
		// path is not repeated. errors.Is(err, fs.ErrNotExist) still holds.
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err
		}
		return nil, fmt.Errorf("gguf: open %s: %w", path, err)
	}
	fh, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fail(err)
	}
	if !st.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file (mode %v)", st.Mode()))
	}
	data, unmap, err := mapFile(fh, st.Size())
	if err != nil {
		return fail(err)
	}
	f, err := parse(data)
	if err != nil {
		unmap()
		return fail(err)
	}
	f.unmap = unmap
	return f, nil
}

// Parse parses a GGUF file held in memory, with the same validation as Open.
// The File keeps data for TensorData, so data must not be modified while the
// File is in use.
func Parse(data []byte) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	return f, nil
}

// Close releases the mapping. Slices returned by TensorData must not be used
// afterwards; metadata and tensor descriptions remain valid. Closing twice is
// harmless.
func (f *File) Close() error {
	f.data = nil
	if f.unmap == nil {
		return nil
	}
	unmap := f.unmap
	f.unmap = nil
	if err := unmap(); err != nil {
		return fmt.Errorf("gguf: close: %w", err)
	}
	return nil
}

// Size returns the file's length in bytes.
func (f *File) Size() int64 { return f.size }

// Lookup returns the metadata value stored under key. An array's slice is
// shared with the File, so copy it before modifying; the typed getters copy.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.keys[key]
	if !ok {
		return Value{}, false
	}
	return f.KVs[i].Value, true
}

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensors[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns t's bytes as a slice of the file, without copying. The
// slice is read-only (writing to a mapping faults) and valid until Close. It
// returns nil after Close or for a t whose range does not lie in the file,
// which cannot happen for a t taken from this File.
func (f *File) TensorData(t *TensorInfo) []byte {
	if t == nil || f.data == nil || t.Offset > uint64(len(f.data)) || t.Size < 0 {
		return nil
	}
	start := f.DataOffset + int64(t.Offset)
	if start < 0 || start > int64(len(f.data)) || t.Size > int64(len(f.data))-start {
		return nil
	}
	end := start + t.Size
	return f.data[start:end:end]
}

// decoder reads little-endian fields from b, checking every length against
// what is left so that no field is read past the end.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) left() int { return len(d.b) - d.off }

func (d *decoder) take(n int) ([]byte, error) {
	if n > d.left() {
		return nil, truncated("file truncated: need %d bytes at offset %d, file is %d bytes", n, d.off, len(d.b))
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) u8() (uint8, error) {
	p, err := d.take(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (d *decoder) u16() (uint16, error) {
	p, err := d.take(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(p), nil
}

func (d *decoder) u32() (uint32, error) {
	p, err := d.take(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (d *decoder) u64() (uint64, error) {
	p, err := d.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

// str reads a length-prefixed string and copies it out of the file, so that
// metadata outlives the mapping.
func (d *decoder) str() (string, error) {
	at := d.off
	n, err := d.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(d.left()) {
		return "", truncated("string length %d at offset %d runs past end of file (%d bytes left)", n, at, d.left())
	}
	p, _ := d.take(int(n))
	return string(p), nil
}

// value reads a value of type t; depth is the number of enclosing arrays.
func (d *decoder) value(t ValueType, depth int) (Value, error) {
	v := Value{Type: t}
	var err error
	switch t {
	case Uint8:
		v.V, err = d.u8()
	case Int8:
		var x uint8
		x, err = d.u8()
		v.V = int8(x)
	case Uint16:
		v.V, err = d.u16()
	case Int16:
		var x uint16
		x, err = d.u16()
		v.V = int16(x)
	case Uint32:
		v.V, err = d.u32()
	case Int32:
		var x uint32
		x, err = d.u32()
		v.V = int32(x)
	case Float32:
		var x uint32
		x, err = d.u32()
		v.V = math.Float32frombits(x)
	case Bool:
		var x uint8
		x, err = d.u8()
		v.V = x != 0
	case String:
		v.V, err = d.str()
	case Uint64:
		v.V, err = d.u64()
	case Int64:
		var x uint64
		x, err = d.u64()
		v.V = int64(x)
	case Float64:
		var x uint64
		x, err = d.u64()
		v.V = math.Float64frombits(x)
	case Array:
		return d.array(depth)
	default:
		return Value{}, fmt.Errorf("unknown value type %d at offset %d", uint32(t), d.off-4)
	}
	if err != nil {
		return Value{}, err
	}
	return v, nil
}

func (d *decoder) array(depth int) (Value, error) {
	at := d.off
	if depth >= maxDepth {
		return Value{}, fmt.Errorf("array at offset %d nested deeper than %d levels", at, maxDepth)
	}
	et, err := d.u32()
	if err != nil {
		return Value{}, err
	}
	t := ValueType(et)
	if !t.Known() {
		return Value{}, fmt.Errorf("unknown array element type %d at offset %d", et, at)
	}
	n64, err := d.u64()
	if err != nil {
		return Value{}, err
	}
	// Bound the count by the bytes left before allocating anything.
	if n64 > uint64(d.left()/t.minSize()) {
		return Value{}, truncated("array of %d %s at offset %d runs past end of file (%d bytes left)", n64, t, at, d.left())
	}
	n := int(n64)
	v := Value{Type: Array, ElemType: t}
	switch t {
	case String:
		a := make([]string, n)
		for i := range a {
			if a[i], err = d.str(); err != nil {
				return Value{}, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		v.V = a
		return v, nil
	case Array:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = d.value(Array, depth+1); err != nil {
				return Value{}, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		v.V = a
		return v, nil
	}
	// Fixed-size elements: the bound above already guarantees they fit.
	p, _ := d.take(n * t.minSize())
	le := binary.LittleEndian
	switch t {
	case Uint8:
		v.V = slices.Clone(p)
	case Int8:
		a := make([]int8, n)
		for i := range a {
			a[i] = int8(p[i])
		}
		v.V = a
	case Bool:
		a := make([]bool, n)
		for i := range a {
			a[i] = p[i] != 0
		}
		v.V = a
	case Uint16:
		a := make([]uint16, n)
		for i := range a {
			a[i] = le.Uint16(p[2*i:])
		}
		v.V = a
	case Int16:
		a := make([]int16, n)
		for i := range a {
			a[i] = int16(le.Uint16(p[2*i:]))
		}
		v.V = a
	case Uint32:
		a := make([]uint32, n)
		for i := range a {
			a[i] = le.Uint32(p[4*i:])
		}
		v.V = a
	case Int32:
		a := make([]int32, n)
		for i := range a {
			a[i] = int32(le.Uint32(p[4*i:]))
		}
		v.V = a
	case Float32:
		a := make([]float32, n)
		for i := range a {
			a[i] = math.Float32frombits(le.Uint32(p[4*i:]))
		}
		v.V = a
	case Uint64:
		a := make([]uint64, n)
		for i := range a {
			a[i] = le.Uint64(p[8*i:])
		}
		v.V = a
	case Int64:
		a := make([]int64, n)
		for i := range a {
			a[i] = int64(le.Uint64(p[8*i:]))
		}
		v.V = a
	case Float64:
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(le.Uint64(p[8*i:]))
		}
		v.V = a
	}
	return v, nil
}

// tensorSize validates a tensor's shape and type and returns its size in
// bytes. The reader and the writer share it so they accept the same tensors.
func tensorSize(dims []uint64, t quant.Type) (int64, error) {
	if len(dims) == 0 || len(dims) > MaxDims {
		return 0, fmt.Errorf("n_dims %d, want 1 to %d", len(dims), MaxDims)
	}
	n := uint64(1)
	for i, d := range dims {
		if d == 0 {
			return 0, fmt.Errorf("dimension %d of %v is 0", i, dims)
		}
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("element count of dims %v overflows int64", dims)
		}
		n = lo
	}
	if !t.Known() {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	bs, bb := uint64(t.BlockSize()), uint64(t.BlockBytes())
	if dims[0]%bs != 0 {
		return 0, fmt.Errorf("row length %d is not a multiple of the %s block size %d", dims[0], t, bs)
	}
	// n/bs blocks of bb bytes; n/bs*bb < n*bb fits in 64 bits only if checked.
	hi, size := bits.Mul64(n/bs, bb)
	if hi != 0 || size > math.MaxInt64 {
		return 0, fmt.Errorf("size of %v %s tensor overflows int64", dims, t)
	}
	return int64(size), nil
}

func parse(data []byte) (*File, error) {
	if len(data) < 4 {
		return nil, truncated("file is %d bytes, too short for a GGUF header", len(data))
	}
	if m := data[:4]; binary.LittleEndian.Uint32(m) != Magic {
		return nil, fmt.Errorf("bad magic %q (% x), want \"GGUF\" (47 47 55 46)", m, m)
	}
	d := &decoder{b: data, off: 4}
	f := &File{data: data, size: int64(len(data)), Alignment: DefaultAlignment}
	var err error
	if f.Version, err = d.u32(); err != nil {
		return nil, fmt.Errorf("reading version: %w", err)
	}
	if v := f.Version; v&0xffff == 0 && bits.ReverseBytes32(v) <= 3 {
		return nil, fmt.Errorf("big-endian GGUF files are not supported (version field %#08x is version %d byte-swapped)", v, bits.ReverseBytes32(v))
	}
	if f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("unsupported GGUF version %d (only versions 2 and 3 are supported)", f.Version)
	}
	nTensors, err := d.u64()
	if err != nil {
		return nil, fmt.Errorf("reading tensor count: %w", err)
	}
	nKVs, err := d.u64()
	if err != nil {
		return nil, fmt.Errorf("reading kv count: %w", err)
	}
	// A count larger than the file's byte count is a lie, whatever the rest
	// of the file holds. A smaller count that still cannot fit is reported
	// where the file runs out, which for a cut-off file is the useful
	// place. Either way, capacity reserved up front is capped by what the
	// bytes left could encode and by maxPrealloc, so a lying count costs
	// only what actually parses.
	if nKVs > uint64(len(data)) {
		return nil, fmt.Errorf("kv count %d exceeds file size (%d bytes)", nKVs, len(data))
	}
	if nTensors > uint64(len(data)) {
		return nil, fmt.Errorf("tensor count %d exceeds file size (%d bytes)", nTensors, len(data))
	}
	f.KVs = make([]KV, 0, min(nKVs, uint64(d.left()/minKVSize), maxPrealloc))
	f.keys = make(map[string]int, cap(f.KVs))
	for i := range int(nKVs) {
		key, err := d.str()
		if err != nil {
			return nil, fmt.Errorf("reading kv %d of %d: key: %w", i+1, nKVs, err)
		}
		if key == "" {
			return nil, fmt.Errorf("kv %d of %d has an empty key", i+1, nKVs)
		}
		if j, dup := f.keys[key]; dup {
			return nil, fmt.Errorf("duplicate key %q (kv %d and %d)", key, j+1, i+1)
		}
		t, err := d.u32()
		if err != nil {
			return nil, fmt.Errorf("reading kv %d of %d (%q): value type: %w", i+1, nKVs, key, err)
		}
		v, err := d.value(ValueType(t), 0)
		if err != nil {
			return nil, fmt.Errorf("reading kv %d of %d (%q): %w", i+1, nKVs, key, err)
		}
		f.keys[key] = i
		f.KVs = append(f.KVs, KV{key, v})
	}

	if v, ok := f.Lookup(AlignmentKey); ok {
		a, ok := v.V.(uint32)
		if !ok || v.Type != Uint32 {
			return nil, fmt.Errorf("key %q: want uint32, have %s", AlignmentKey, v.typeName())
		}
		if a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("key %q: alignment %d is not a non-zero power of two", AlignmentKey, a)
		}
		if uint64(a) > math.MaxInt32 {
			return nil, fmt.Errorf("key %q: alignment %d is too large", AlignmentKey, a)
		}
		f.Alignment = int(a)
	}

	f.Tensors = make([]TensorInfo, 0, min(nTensors, uint64(d.left()/minTensorInfoSize), maxPrealloc))
	f.tensors = make(map[string]int, cap(f.Tensors))
	for i := range int(nTensors) {
		ti, err := d.tensorInfo()
		if err != nil {
			if ti.Name != "" {
				return nil, fmt.Errorf("reading tensor info %d of %d (%q): %w", i+1, nTensors, ti.Name, err)
			}
			return nil, fmt.Errorf("reading tensor info %d of %d: %w", i+1, nTensors, err)
		}
		if ti.Name == "" {
			return nil, fmt.Errorf("tensor info %d of %d has an empty name", i+1, nTensors)
		}
		if j, dup := f.tensors[ti.Name]; dup {
			return nil, fmt.Errorf("duplicate tensor name %q (tensor infos %d and %d)", ti.Name, j+1, i+1)
		}
		if ti.Size, err = tensorSize(ti.Dims, ti.Type); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", ti.Name, err)
		}
		f.tensors[ti.Name] = i
		f.Tensors = append(f.Tensors, ti)
	}

	// The data section starts at the next multiple of the alignment. A file
	// without tensors may end before it, so that is checked per tensor.
	a := int64(f.Alignment)
	f.DataOffset = (int64(d.off) + a - 1) / a * a
	if err := f.checkTensorData(); err != nil {
		return nil, err
	}
	return f, nil
}

// tensorInfo reads one tensor description; shape and type are validated by
// the caller. On error the name is returned if it was read, for context.
func (d *decoder) tensorInfo() (TensorInfo, error) {
	var ti TensorInfo
	var err error
	if ti.Name, err = d.str(); err != nil {
		return ti, fmt.Errorf("name: %w", err)
	}
	nDims, err := d.u32()
	if err != nil {
		return ti, fmt.Errorf("n_dims: %w", err)
	}
	if nDims == 0 || nDims > MaxDims {
		return ti, fmt.Errorf("n_dims %d, want 1 to %d", nDims, MaxDims)
	}
	ti.Dims = make([]uint64, nDims)
	for j := range ti.Dims {
		if ti.Dims[j], err = d.u64(); err != nil {
			return ti, fmt.Errorf("dimension %d: %w", j, err)
		}
	}
	t, err := d.u32()
	if err != nil {
		return ti, fmt.Errorf("type: %w", err)
	}
	ti.Type = quant.Type(t)
	if ti.Offset, err = d.u64(); err != nil {
		return ti, fmt.Errorf("offset: %w", err)
	}
	return ti, nil
}

// checkTensorData verifies that every tensor is aligned, lies inside the file
// and overlaps no other, so TensorData can slice without further checks.
func (f *File) checkTensorData() error {
	size := int64(len(f.data))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Offset%uint64(f.Alignment) != 0 {
			return fmt.Errorf("tensor %q: offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)
		}
		if t.Offset > uint64(size) || f.DataOffset+int64(t.Offset) > size || t.Size > size-f.DataOffset-int64(t.Offset) {
			return truncated("tensor %q: data at offset %d (absolute %d) of %d bytes runs past the end of the file (%d bytes)",
				t.Name, t.Offset, uint64(f.DataOffset)+t.Offset, t.Size, size)
		}
	}
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(f.Tensors[a].Offset, f.Tensors[b].Offset)
	})
	for k := 1; k < len(order); k++ {
		p, t := &f.Tensors[order[k-1]], &f.Tensors[order[k]]
		if p.Offset+uint64(p.Size) > t.Offset {
			return fmt.Errorf("tensor %q (offset %d, %d bytes) overlaps tensor %q (offset %d)", p.Name, p.Offset, p.Size, t.Name, t.Offset)
		}
	}
	return nil
}

// Describe writes a human-readable summary of f to w: the header, every
// metadata key with its type and value, and a table of tensors. Arrays show
// at most maxArray elements followed by how many more there are (all when
// maxArray is negative), and long strings are cut, so a tokenizer vocabulary
// or chat template does not drown the rest.
func (f *File) Describe(w io.Writer, maxArray int) error {
	const maxString = 120
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "GGUF v%d: %d metadata keys, %d tensors, alignment %d, data at offset %d, %d bytes\n",
		f.Version, len(f.KVs), len(f.Tensors), f.Alignment, f.DataOffset, f.size)
	if len(f.KVs) > 0 {
		fmt.Fprintf(ew, "\nmetadata:\n")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		var b strings.Builder
		for _, kv := range f.KVs {
			b.Reset()
			kv.Value.format(&b, maxArray, maxString)
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", kv.Key, kv.Value.describeType(), b.String())
		}
		tw.Flush()
	}
	if len(f.Tensors) > 0 {
		// Names and shapes read best left-aligned and numbers right-aligned,
		// which tabwriter cannot mix, so the columns are sized by hand.
		rows := make([][5]string, 0, len(f.Tensors)+1)
		rows = append(rows, [5]string{"name", "type", "dims", "bytes", "offset"})
		var total int64
		for i := range f.Tensors {
			t := &f.Tensors[i]
			dims := make([]string, len(t.Dims))
			for j, d := range t.Dims {
				dims[j] = strconv.FormatUint(d, 10)
			}
			rows = append(rows, [5]string{t.Name, t.Type.String(), strings.Join(dims, " x "),
				strconv.FormatInt(t.Size, 10), strconv.FormatUint(t.Offset, 10)})
			total += t.Size
		}
		var w [5]int
		for _, r := range rows {
			for c, s := range r {
				w[c] = max(w[c], len(s))
			}
		}
		fmt.Fprintf(ew, "\ntensors:\n")
		for _, r := range rows {
			fmt.Fprintf(ew, "  %-*s  %-*s  %-*s  %*s  %*s\n", w[0], r[0], w[1], r[1], w[2], r[2], w[3], r[3], w[4], r[4])
		}
		fmt.Fprintf(ew, "  total %d bytes in %d tensors\n", total, len(f.Tensors))
	}
	return ew.err
}

// describeType names v's type compactly for Describe: "uint32", "[4096]string".
func (v Value) describeType() string {
	if v.Type != Array {
		return v.Type.String()
	}
	return fmt.Sprintf("[%d]%s", v.Len(), v.ElemType)
}

// errWriter keeps the first write error so Describe can check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
