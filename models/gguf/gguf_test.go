package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// allKVs returns metadata covering every value type, as scalars and arrays.
func allKVs() []KV {
	kv := func(k string, x any) KV { return KV{k, MustValueOf(x)} }
	return []KV{
		kv("general.architecture", "llama"),
		kv("t.u8", uint8(200)),
		kv("t.i8", int8(-100)),
		kv("t.u16", uint16(60000)),
		kv("t.i16", int16(-30000)),
		kv("t.u32", uint32(4000000000)),
		kv("t.i32", int32(-2000000000)),
		kv("t.f32", float32(1.5)),
		kv("t.bool", true),
		kv("t.str", "héllo\x00world"),
		kv("t.empty", ""),
		kv("t.u64", uint64(math.MaxUint64)),
		kv("t.i64", int64(math.MinInt64)),
		kv("t.f64", 1e-300),
		kv("a.u8", []uint8{1, 2, 255}),
		kv("a.i8", []int8{-1, 0, 127}),
		kv("a.u16", []uint16{1, 65535}),
		kv("a.i16", []int16{-32768, 32767}),
		kv("a.u32", []uint32{0, 1, math.MaxUint32}),
		kv("a.i32", []int32{-1, 0, 1}),
		kv("a.f32", []float32{0.5, -2, float32(math.Inf(1))}),
		kv("a.bool", []bool{true, false, true}),
		kv("a.str", []string{"<s>", "", "▁the", "日本"}),
		kv("a.u64", []uint64{1 << 63}),
		kv("a.i64", []int64{-1 << 62}),
		kv("a.f64", []float64{math.Pi}),
		kv("a.empty", []string{}),
		kv("a.nested", []Value{MustValueOf([]int32{1, 2}), MustValueOf([]string{"x"}), MustValueOf([]Value{MustValueOf([]bool{true})})}),
	}
}

// someTensors returns tensors of several types with random bytes.
func someTensors(r *rand.Rand) []WriterTensor {
	mk := func(name string, ty quant.Type, dims ...uint64) WriterTensor {
		size, err := tensorSize(dims, ty)
		if err != nil {
			panic(err)
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		return WriterTensor{name, dims, ty, data}
	}
	return []WriterTensor{
		mk("token_embd.weight", quant.F32, 4, 3),
		mk("blk.0.attn_norm.weight", quant.F16, 7),
		mk("blk.0.attn_q.weight", quant.Q8_0, 64, 2),
		mk("blk.0.ffn_up.weight", quant.Q4_K, 256, 1, 2),
		mk("blk.0.ffn_down.weight", quant.Q4_0, 32, 1, 1, 3),
		mk("output.weight", quant.BF16, 5, 1),
		mk("ids", quant.I32, 3),
	}
}

// build writes a file or fails the test.
func build(t testing.TB, version uint32, kvs []KV, tensors []WriterTensor, alignment int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, version, kvs, tensors, alignment); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		version   uint32
		alignment int
	}{{3, 32}, {2, 32}, {3, 64}, {3, 1}, {2, 4096}} {
		r := rand.New(rand.NewPCG(1, 2))
		kvs, tensors := allKVs(), someTensors(r)
		b := build(t, tc.version, kvs, tensors, tc.alignment)
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("v%d align %d: %v", tc.version, tc.alignment, err)
		}
		if f.Version != tc.version || f.Alignment != tc.alignment || f.Size() != int64(len(b)) {
			t.Errorf("header: version %d alignment %d size %d", f.Version, f.Alignment, f.Size())
		}
		if f.DataOffset%int64(tc.alignment) != 0 {
			t.Errorf("data offset %d not aligned to %d", f.DataOffset, tc.alignment)
		}
		want := kvs
		if tc.alignment != DefaultAlignment {
			want = append(want, KV{AlignmentKey, MustValueOf(uint32(tc.alignment))})
		}
		if !reflect.DeepEqual(f.KVs, want) {
			t.Errorf("kvs differ:\n got %v\nwant %v", f.KVs, want)
		}
		if len(f.Tensors) != len(tensors) {
			t.Fatalf("%d tensors, want %d", len(f.Tensors), len(tensors))
		}
		for i, wt := range tensors {
			ti := &f.Tensors[i]
			if ti.Name != wt.Name || !reflect.DeepEqual(ti.Dims, wt.Dims) || ti.Type != wt.Type || ti.Size != int64(len(wt.Data)) {
				t.Errorf("tensor %d: got %+v, want %s %v %s", i, ti, wt.Name, wt.Dims, wt.Type)
			}
			if ti.Offset%uint64(tc.alignment) != 0 {
				t.Errorf("tensor %q offset %d not aligned", ti.Name, ti.Offset)
			}
			if got, ok := f.Tensor(wt.Name); !ok || got != ti {
				t.Errorf("Tensor(%q) = %v, %v", wt.Name, got, ok)
			}
			if !bytes.Equal(f.TensorData(ti), wt.Data) {
				t.Errorf("tensor %q data differs", ti.Name)
			}
		}
		// Writing what was read reproduces the file byte for byte.
		if b2 := build(t, f.Version, f.KVs, writerTensors(f), f.Alignment); !bytes.Equal(b, b2) {
			t.Errorf("v%d align %d: rewrite differs", tc.version, tc.alignment)
		}
	}
}

func writerTensors(f *File) []WriterTensor {
	var ts []WriterTensor
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		ts = append(ts, WriterTensor{ti.Name, ti.Dims, ti.Type, f.TensorData(ti)})
	}
	return ts
}

func TestNumElements(t *testing.T) {
	ti := TensorInfo{Dims: []uint64{256, 3, 2}}
	if n := ti.NumElements(); n != 1536 {
		t.Errorf("NumElements = %d, want 1536", n)
	}
}

func TestGetters(t *testing.T) {
	f, err := Parse(build(t, 3, allKVs(), nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := f.String("general.architecture"); s != "llama" || err != nil {
		t.Errorf("String = %q, %v", s, err)
	}
	if u, err := f.Uint("t.u32"); u != 4000000000 || err != nil {
		t.Errorf("Uint(u32) = %d, %v", u, err)
	}
	if u, err := f.Uint("t.u8"); u != 200 || err != nil {
		t.Errorf("Uint(u8) = %d, %v", u, err)
	}
	if i, err := f.Int("t.i16"); i != -30000 || err != nil {
		t.Errorf("Int(i16) = %d, %v", i, err)
	}
	if i, err := f.Int("t.u32"); i != 4000000000 || err != nil {
		t.Errorf("Int(u32) = %d, %v", i, err)
	}
	if x, err := f.Float("t.f32"); x != 1.5 || err != nil {
		t.Errorf("Float(f32) = %v, %v", x, err)
	}
	if x, err := f.Float("t.u16"); x != 60000 || err != nil {
		t.Errorf("Float(u16) = %v, %v", x, err)
	}
	if b, err := f.Bool("t.bool"); !b || err != nil {
		t.Errorf("Bool = %v, %v", b, err)
	}
	if s, err := f.Strings("a.str"); len(s) != 4 || s[2] != "▁the" || err != nil {
		t.Errorf("Strings = %q, %v", s, err)
	}
	if x, err := f.Float32s("a.f32"); len(x) != 3 || x[1] != -2 || err != nil {
		t.Errorf("Float32s = %v, %v", x, err)
	}
	if x, err := f.Float32s("a.f64"); len(x) != 1 || x[0] != math.Pi || err != nil {
		t.Errorf("Float32s(f64) = %v, %v", x, err)
	}
	for _, k := range []string{"a.i32", "a.i8", "a.u16", "a.i16"} {
		if x, err := f.Int32s(k); len(x) < 2 || err != nil {
			t.Errorf("Int32s(%s) = %v, %v", k, x, err)
		}
	}
	if x, err := f.Int32s("a.u8"); !reflect.DeepEqual(x, []int32{1, 2, 255}) || err != nil {
		t.Errorf("Int32s(u8) = %v, %v", x, err)
	}

	errCases := []struct {
		call func() error
		want string
	}{
		{func() error { _, err := f.String("t.u32"); return err }, `gguf: key "t.u32": want string, have uint32`},
		{func() error { _, err := f.Uint("t.str"); return err }, `gguf: key "t.str": want unsigned integer, have string`},
		{func() error { _, err := f.Uint("t.i8"); return err }, `gguf: key "t.i8": want unsigned integer, have negative int8 -100`},
		{func() error { _, err := f.Int("t.u64"); return err }, `gguf: key "t.u64": uint64 18446744073709551615 overflows int64`},
		{func() error { _, err := f.Int("t.f32"); return err }, `gguf: key "t.f32": want integer, have float32`},
		{func() error { _, err := f.Float("a.f32"); return err }, `gguf: key "a.f32": want float, have array of float32`},
		{func() error { _, err := f.Bool("t.u8"); return err }, `gguf: key "t.u8": want bool, have uint8`},
		{func() error { _, err := f.Strings("a.i32"); return err }, `gguf: key "a.i32": want array of string, have array of int32`},
		{func() error { _, err := f.Strings("t.str"); return err }, `gguf: key "t.str": want array of string, have string`},
		{func() error { _, err := f.Float32s("a.i32"); return err }, `gguf: key "a.i32": want array of float32, have array of int32`},
		{func() error { _, err := f.Int32s("a.u32"); return err }, `gguf: key "a.u32": element 2 (4294967295) overflows int32`},
		{func() error { _, err := f.Int32s("a.str"); return err }, `gguf: key "a.str": want array of int32, have array of string`},
		{func() error { _, err := f.Int32s("a.nested"); return err }, `gguf: key "a.nested": want array of int32, have array of array`},
	}
	for _, c := range errCases {
		if err := c.call(); err == nil || err.Error() != c.want {
			t.Errorf("got error %v, want %q", err, c.want)
		}
	}
	_, err = f.Uint("llama.block_count")
	if !errors.Is(err, ErrMissingKey) || !strings.Contains(err.Error(), `"llama.block_count"`) {
		t.Errorf("missing key: got %v", err)
	}
	if _, ok := f.Lookup("nope"); ok {
		t.Error("Lookup of a missing key succeeded")
	}
	if _, ok := f.Tensor("nope"); ok {
		t.Error("Tensor of a missing name succeeded")
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	tensors := someTensors(r)
	good := filepath.Join(dir, "good.gguf")
	if err := os.WriteFile(good, build(t, 3, allKVs(), tensors, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, wt := range tensors {
		ti, _ := f.Tensor(wt.Name)
		if !bytes.Equal(f.TensorData(ti), wt.Data) {
			t.Errorf("tensor %q data differs", wt.Name)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if d := f.TensorData(&f.Tensors[0]); d != nil {
		t.Error("TensorData after Close returned data")
	}
	if s, err := f.String("general.architecture"); s != "llama" || err != nil {
		t.Errorf("metadata after Close: %q, %v", s, err)
	}

	missing := filepath.Join(dir, "missing.gguf")
	_, err = Open(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "gguf: open "+missing+": ") || strings.Count(err.Error(), missing) != 1 {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.gguf")
	os.WriteFile(bad, []byte("GGML\x03\x00\x00\x00"), 0o644)
	if _, err = Open(bad); err == nil || !strings.HasPrefix(err.Error(), "gguf: open "+bad+": bad magic") {
		t.Errorf("bad file: %v", err)
	}
	empty := filepath.Join(dir, "empty.gguf")
	os.WriteFile(empty, nil, 0o644)
	if _, err = Open(empty); !errors.Is(err, ErrTruncated) {
		t.Errorf("empty file: %v", err)
	}
	if _, err = Open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	f, err := Parse(build(t, 3, allKVs(), someTensors(r), 64))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Describe(&buf, 2); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"GGUF v3: 29 metadata keys, 7 tensors, alignment 64",
		`general.architecture  string`,
		`"llama"`,
		`[4]string`,
		`["<s>", "", ... 2 more]`,
		`[[1, 2], ["x"], ... 1 more]`,
		"blk.0.attn_q.weight",
		"q8_0",
		"64 x 2",
		"total ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Describe output lacks %q:\n%s", want, out)
		}
	}
	if testing.Verbose() {
		t.Log("\n" + out)
	}
}

// rawFile assembles GGUF bytes by hand, for inputs the writer refuses to make.
type rawFile struct{ b []byte }

func (r *rawFile) u32(x uint32) *rawFile { r.b = binary.LittleEndian.AppendUint32(r.b, x); return r }
func (r *rawFile) u64(x uint64) *rawFile { r.b = binary.LittleEndian.AppendUint64(r.b, x); return r }
func (r *rawFile) str(s string) *rawFile { r.u64(uint64(len(s))); r.b = append(r.b, s...); return r }
func header(nTensors, nKVs uint64) *rawFile {
	r := &rawFile{}
	return r.u32(Magic).u32(3).u64(nTensors).u64(nKVs)
}

// fieldAfter returns the offset just past the first length-prefixed string s
// in b, where a key's type tag or a tensor's n_dims begins.
func fieldAfter(t *testing.T, b []byte, s string) int {
	t.Helper()
	enc := binary.LittleEndian.AppendUint64(nil, uint64(len(s)))
	i := bytes.Index(b, append(enc, s...))
	if i < 0 {
		t.Fatalf("%q not found", s)
	}
	return i + len(enc) + len(s)
}

func put32(b []byte, at int, x uint32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[at:], x)
	return b
}

func put64(b []byte, at int, x uint64) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint64(b[at:], x)
	return b
}

func TestBadInput(t *testing.T) {
	mk := func(name string, ty quant.Type, dims ...uint64) WriterTensor {
		size, _ := tensorSize(dims, ty)
		return WriterTensor{name, dims, ty, make([]byte, size)}
	}
	kvs := []KV{
		{"general.architecture", MustValueOf("llama")},
		{"general.alignment", MustValueOf(uint32(32))},
		{"k.arr", MustValueOf([]uint32{1, 2, 3})},
		{"k.brr", MustValueOf(uint8(1))},
	}
	tensors := []WriterTensor{
		mk("t1", quant.F32, 8),
		mk("t2", quant.F32, 8, 2),
		mk("t3", quant.Q8_0, 64, 2),
		mk("t4", quant.F16, 16),
		mk("t5", quant.F32, 4),
	}
	good := build(t, 3, kvs, tensors, 32)
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	ti := func(name string) int { return fieldAfter(t, good, name) } // at n_dims
	kv := func(key string) int { return fieldAfter(t, good, key) }   // at value type
	t3 := ti("t3")                                                   // n_dims, 2 dims, type, offset
	t3type, t3off := t3+4+16, t3+4+16+4
	t2off := ti("t2") + 4 + 16 + 4
	t5off := ti("t5") + 4 + 8 + 4
	nested := header(0, 1).str("deep").u32(uint32(Array))
	for range 100 {
		nested.u32(uint32(Array)).u64(1)
	}
	dupKey := bytes.Replace(good, []byte("k.brr"), []byte("k.arr"), 1)

	cases := []struct {
		name string
		data []byte
		want []string // substrings the error must contain
	}{
		{"empty", nil, []string{"file is 0 bytes, too short"}},
		{"short", good[:3], []string{"file is 3 bytes, too short"}},
		{"magic", append([]byte("GGML"), good[4:]...), []string{`bad magic "GGML"`, "47 47 4d 4c"}},
		{"version1", put32(good, 4, 1), []string{"unsupported GGUF version 1"}},
		{"version4", put32(good, 4, 4), []string{"unsupported GGUF version 4"}},
		{"bigendian", put32(good, 4, 0x03000000), []string{"big-endian", "0x03000000"}},
		{"truncated header", good[:12], []string{"reading tensor count", "file truncated"}},
		{"kv count", put64(good, 16, 1e18), []string{"kv count 1000000000000000000 exceeds file size"}},
		{"tensor count", put64(good, 8, 1e18), []string{"tensor count 1000000000000000000 exceeds file size"}},
		{"truncated kv", good[:kv("k.arr")+6], []string{"reading kv 3 of 4 (\"k.arr\")", "file truncated"}},
		{"truncated tensor info", good[:t3+10], []string{"reading tensor info 3 of 5 (\"t3\")", "file truncated"}},
		{"key length", put64(good, 24, 1<<40), []string{"reading kv 1 of 4: key: string length 1099511627776 at offset 24 runs past end of file"}},
		{"string length", put64(good, kv("general.architecture")+4, 1<<60), []string{`reading kv 1 of 4 ("general.architecture")`, "string length 1152921504606846976", "runs past end of file"}},
		{"value type", put32(good, kv("general.architecture"), 13), []string{`("general.architecture")`, "unknown value type 13"}},
		{"array elem type", put32(good, kv("k.arr")+4, 99), []string{`("k.arr")`, "unknown array element type 99"}},
		{"array count", put64(good, kv("k.arr")+8, 1<<62), []string{`("k.arr")`, "array of 4611686018427387904 uint32", "runs past end of file"}},
		{"nesting", nested.b, []string{`("deep")`, "nested deeper than 8 levels"}},
		{"empty key", append(header(0, 1).str("").u32(uint32(Uint8)).b, 0), []string{"kv 1 of 1 has an empty key"}},
		{"empty name", append(header(1, 0).str("").u32(1).u64(1).u32(0).u64(0).b, make([]byte, 64)...), []string{"tensor info 1 of 1 has an empty name"}},
		{"duplicate key", dupKey, []string{`duplicate key "k.arr" (kv 3 and 4)`}},
		{"duplicate tensor", bytes.Replace(good, []byte("t4"), []byte("t2"), 1), []string{`duplicate tensor name "t2" (tensor infos 2 and 4)`}},
		{"n_dims 5", put32(good, t3, 5), []string{`reading tensor info 3 of 5 ("t3")`, "n_dims 5, want 1 to 4"}},
		{"n_dims 0", put32(good, t3, 0), []string{`("t3")`, "n_dims 0"}},
		{"zero dim", put64(good, t3+4+8, 0), []string{`tensor "t3": dimension 1 of [64 0] is 0`}},
		{"elements overflow", put64(put64(good, t3+4, 1<<32), t3+4+8, 1<<32), []string{`tensor "t3": element count`, "overflows int64"}},
		{"size overflow", put64(put64(good, ti("t2")+4, 1<<31), ti("t2")+4+8, 1<<31), []string{`tensor "t2": size of [2147483648 2147483648] f32 tensor overflows int64`}},
		{"tensor type", put32(good, t3type, 99), []string{`tensor "t3": unknown tensor type 99`}},
		{"block size", put64(good, t3+4, 48), []string{`tensor "t3": row length 48 is not a multiple of the q8_0 block size 32`}},
		{"data past end", good[:len(good)-20], []string{`tensor "t5"`, "offset 288", "of 16 bytes", "past the end of the file", "file (" + strconv.Itoa(len(good)-20) + " bytes)"}},
		{"offset past end", put64(good, t5off, 1<<40), []string{`tensor "t5": data at offset 1099511627776`, "past the end"}},
		{"misaligned", put64(good, t3off, 40), []string{`tensor "t3": offset 40 is not a multiple of the alignment 32`}},
		{"overlap", put64(good, t2off, 0), []string{`tensor "t1" (offset 0, 32 bytes) overlaps tensor "t2" (offset 0)`}},
		{"alignment type", put32(good, kv("general.alignment"), uint32(Int32)), []string{`key "general.alignment": want uint32, have int32`}},
		{"alignment value", put32(good, kv("general.alignment")+4, 48), []string{`alignment 48 is not a non-zero power of two`}},
		{"alignment zero", put32(good, kv("general.alignment")+4, 0), []string{`alignment 0 is not a non-zero power of two`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.data)
			if err == nil {
				t.Fatalf("parsed: %+v", f)
			}
			if !strings.HasPrefix(err.Error(), "gguf: ") {
				t.Errorf("error lacks the gguf: prefix: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestTruncatedEverywhere(t *testing.T) {
	// Every proper prefix of a file with tensors must fail cleanly; the
	// point is that no prefix panics or parses.
	r := rand.New(rand.NewPCG(7, 8))
	b := build(t, 3, allKVs(), someTensors(r), 0)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	// The padding after the last tensor is not needed.
	last := &f.Tensors[len(f.Tensors)-1]
	end := int(f.DataOffset) + int(last.Offset) + int(last.Size)
	for n := range len(b) {
		_, err := Parse(b[:n])
		switch {
		case n >= end && err != nil:
			t.Fatalf("prefix of %d of %d bytes: %v", n, len(b), err)
		case n < end && err == nil:
			t.Fatalf("prefix of %d of %d bytes parsed", n, len(b))
		case n < end && !errors.Is(err, ErrTruncated) && !strings.Contains(err.Error(), "exceeds file size"):
			t.Fatalf("prefix of %d of %d bytes: error does not say truncated: %v", n, len(b), err)
		}
	}
}

func TestVocabOnlyWithoutPadding(t *testing.T) {
	// Vocabulary files have no tensors and may end right after the metadata,
	// before the data section's alignment.
	b := header(0, 1).str("k").u32(uint32(Uint8)).b
	b = append(b, 7)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.DataOffset != 64 || len(f.Tensors) != 0 {
		t.Errorf("DataOffset %d, %d tensors", f.DataOffset, len(f.Tensors))
	}
}

func TestWriteErrors(t *testing.T) {
	f32 := func(name string, n int, dims ...uint64) WriterTensor {
		return WriterTensor{name, dims, quant.F32, make([]byte, n)}
	}
	cases := []struct {
		name      string
		version   uint32
		kvs       []KV
		tensors   []WriterTensor
		alignment int
		want      string
	}{
		{"version", 1, nil, nil, 0, "unsupported version 1"},
		{"alignment", 3, nil, nil, 48, "alignment 48 is not a power of two"},
		{"empty key", 3, []KV{{"", MustValueOf(true)}}, nil, 0, "empty key"},
		{"dup key", 3, []KV{{"a", MustValueOf(true)}, {"a", MustValueOf(true)}}, nil, 0, `duplicate key "a"`},
		{"value mismatch", 3, []KV{{"a", Value{Type: Uint32, V: "x"}}}, nil, 0, `key "a": type uint32 but value is string`},
		{"array mismatch", 3, []KV{{"a", Value{Type: Array, ElemType: Int32, V: []uint32{1}}}}, nil, 0, `key "a": type array of int32 but value is []uint32`},
		{"unknown type", 3, []KV{{"a", Value{Type: 13, V: 1}}}, nil, 0, `unknown value type 13`},
		{"nested scalar", 3, []KV{{"a", Value{Type: Array, ElemType: Array, V: []Value{MustValueOf(1.0)}}}}, nil, 0, `element 0 of array of arrays is float64`},
		{"alignment kv", 3, []KV{{AlignmentKey, MustValueOf(uint32(64))}}, nil, 32, `"general.alignment" is uint32 64 but alignment is 32`},
		{"alignment kv type", 3, []KV{{AlignmentKey, MustValueOf("64")}}, nil, 32, `"general.alignment" is string 64 but alignment is 32`},
		{"data size", 3, nil, []WriterTensor{f32("w", 12, 4)}, 0, `tensor "w": 12 bytes of data, want 16 for [4] f32`},
		{"dims", 3, nil, []WriterTensor{f32("w", 4, 1, 1, 1, 1, 1)}, 0, `tensor "w": n_dims 5`},
		{"zero dim", 3, nil, []WriterTensor{f32("w", 0, 4, 0)}, 0, `tensor "w": dimension 1 of [4 0] is 0`},
		{"block", 3, nil, []WriterTensor{{"q", []uint64{16}, quant.Q8_0, nil}}, 0, `tensor "q": row length 16 is not a multiple of the q8_0 block size 32`},
		{"type", 3, nil, []WriterTensor{{"q", []uint64{16}, quant.Type(99), nil}}, 0, `tensor "q": unknown tensor type 99`},
		{"dup tensor", 3, nil, []WriterTensor{f32("w", 4, 1), f32("w", 4, 1)}, 0, `duplicate tensor name "w"`},
		{"empty name", 3, nil, []WriterTensor{f32("", 4, 1)}, 0, `tensor 0 has an empty name`},
	}
	for _, c := range cases {
		err := Write(&bytes.Buffer{}, c.version, c.kvs, c.tensors, c.alignment)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "gguf: write: ") {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// Alignment 0 takes general.alignment from the metadata.
	b := build(t, 3, []KV{{AlignmentKey, MustValueOf(uint32(128))}}, []WriterTensor{f32("w", 4, 1)}, 0)
	f, err := Parse(b)
	if err != nil || f.Alignment != 128 || f.DataOffset%128 != 0 {
		t.Errorf("alignment from kvs: %v, %+v", err, f)
	}
}

func TestValueOf(t *testing.T) {
	if _, err := ValueOf(3); err == nil || !strings.Contains(err.Error(), "no GGUF type for Go type int") {
		t.Errorf("ValueOf(int): %v", err)
	}
	v := MustValueOf([]string{"a"})
	if v.Type != Array || v.ElemType != String || v.Len() != 1 {
		t.Errorf("ValueOf([]string) = %+v", v)
	}
	if s := MustValueOf([]float32{1, 2.5}).String(); s != "[1, 2.5]" {
		t.Errorf("String = %q", s)
	}
	if MustValueOf(uint8(1)).Len() != -1 {
		t.Error("scalar Len != -1")
	}
	if Array.String() != "array" || ValueType(42).String() != "type(42)" {
		t.Error("ValueType.String")
	}
}
