package quant

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/kiln-ml/kiln/tests/testshared"
	"os"
	"path/filepath"
	"testing"
)

// A minimal GGUF v2/v3 tensor-table reader, only for these tests (the real
// loader lives in models/gguf). It reads the whole file and validates every
// offset it follows.

type ggufTensor struct {
	name string
	dims []uint64
	typ  Type
	data []byte // the tensor's bytes
}

// rows returns the number of rows (product of dims[1:]) and the row length.
func (t *ggufTensor) rows() (nrows, ne0 int) {
	nrows = 1
	for _, d := range t.dims[1:] {
		nrows *= int(d)
	}
	return nrows, int(t.dims[0])
}

type ggufFile struct {
	kv      map[string]any
	tensors []*ggufTensor
}

type ggufReader struct {
	b   []byte
	off int
	err error
}

func (r *ggufReader) need(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.off+n > len(r.b) {
		r.err = fmt.Errorf("gguf: truncated at offset %d (need %d bytes)", r.off, n)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *ggufReader) u8() uint8 {
	if s := r.need(1); s != nil {
		return s[0]
	}
	return 0
}

func (r *ggufReader) u16() uint16 {
	if s := r.need(2); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}

func (r *ggufReader) u32() uint32 {
	if s := r.need(4); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}

func (r *ggufReader) u64() uint64 {
	if s := r.need(8); s != nil {
		return binary.LittleEndian.Uint64(s)
	}
	return 0
}

func (r *ggufReader) str() string {
	n := r.u64()
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("gguf: string length %d too large", n)
		return ""
	}
	return string(r.need(int(n)))
}

// value reads one metadata value of GGUF type vt.
func (r *ggufReader) value(vt uint32, depth int) any {
	switch vt {
	case 0, 1, 7: // u8, i8, bool
		return r.u8()
	case 2, 3: // u16, i16
		return r.u16()
	case 4, 5, 6: // u32, i32, f32
		return r.u32()
	case 10, 11, 12: // u64, i64, f64
		return r.u64()
	case 8:
		return r.str()
	case 9:
		if depth > 2 {
			r.err = errors.New("gguf: arrays nested too deeply")
			return nil
		}
		et := r.u32()
		n := r.u64()
		if n > uint64(len(r.b)) {
			r.err = fmt.Errorf("gguf: array length %d too large", n)
			return nil
		}
		out := make([]any, 0, min(n, 1<<16))
		for i := uint64(0); i < n && r.err == nil; i++ {
			out = append(out, r.value(et, depth+1))
		}
		return out
	}
	r.err = fmt.Errorf("gguf: unknown value type %d", vt)
	return nil
}

func parseGGUF(b []byte) (*ggufFile, error) {
	r := &ggufReader{b: b}
	if string(r.need(4)) != "GGUF" {
		return nil, errors.New("gguf: bad magic")
	}
	if v := r.u32(); v != 2 && v != 3 {
		return nil, fmt.Errorf("gguf: unsupported version %d", v)
	}
	nt, nkv := r.u64(), r.u64()
	if nt > 1<<20 || nkv > 1<<20 {
		return nil, fmt.Errorf("gguf: implausible counts %d tensors, %d kvs", nt, nkv)
	}
	f := &ggufFile{kv: map[string]any{}}
	for i := uint64(0); i < nkv && r.err == nil; i++ {
		k := r.str()
		f.kv[k] = r.value(r.u32(), 0)
	}
	type info struct {
		t   *ggufTensor
		off uint64
	}
	var infos []info
	for i := uint64(0); i < nt && r.err == nil; i++ {
		t := &ggufTensor{name: r.str()}
		nd := r.u32()
		if nd == 0 || nd > 4 {
			return nil, fmt.Errorf("gguf: tensor %q has %d dims", t.name, nd)
		}
		for j := uint32(0); j < nd; j++ {
			t.dims = append(t.dims, r.u64())
		}
		t.typ = Type(r.u32())
		infos = append(infos, info{t, r.u64()})
	}
	if r.err != nil {
		return nil, r.err
	}
	align := uint64(32)
	if a, ok := f.kv["general.alignment"].(uint32); ok && a != 0 {
		align = uint64(a)
	}
	base := (uint64(r.off) + align - 1) / align * align
	for _, in := range infos {
		t := in.t
		ne := uint64(1)
		for _, d := range t.dims {
			ne *= d
		}
		if !t.typ.Known() {
			return nil, fmt.Errorf("gguf: tensor %q has unknown type %d", t.name, uint32(t.typ))
		}
		rb, err := t.typ.RowBytes(int(t.dims[0]))
		if err != nil {
			return nil, fmt.Errorf("gguf: tensor %q: %v", t.name, err)
		}
		size := uint64(rb) * ne / t.dims[0]
		start := base + in.off
		if start+size > uint64(len(b)) || start < base {
			return nil, fmt.Errorf("gguf: tensor %q data [%d, %d) outside file of %d bytes", t.name, start, start+size, len(b))
		}
		t.data = b[start : start+size]
		f.tensors = append(f.tensors, t)
	}
	return f, nil
}

// sharedDir locates <dir containing go.mod>/../shared, or skips the test.
func sharedDir(t testing.TB) string {
	return testshared.Dir(t)
}

// zooFiles returns the zoo GGUF files by suffix ("q4_0", "q4_k_m", ...).
func zooFiles(t testing.TB) map[string]*ggufFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(sharedDir(t), "models", "zoo", "zoo-*.gguf"))
	if err != nil || len(paths) == 0 {
		t.Skip("no zoo-*.gguf files under shared/models/zoo")
	}
	out := map[string]*ggufFile{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parseGGUF(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		name := filepath.Base(p)
		out[name[len("zoo-"):len(name)-len(".gguf")]] = f
	}
	return out
}

func TestGGUFParseRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("GGUF"), []byte("GGML\x03\x00\x00\x00"), append([]byte("GGUF\x03\x00\x00\x00"), make([]byte, 3)...)} {
		if _, err := parseGGUF(b); err == nil {
			t.Errorf("parseGGUF(%q) succeeded", b)
		}
	}
}

func TestZooInventory(t *testing.T) {
	for name, f := range zooFiles(t) {
		counts := map[Type]int{}
		for _, tn := range f.tensors {
			counts[tn.typ]++
		}
		t.Logf("%s: %d tensors, types %v", name, len(f.tensors), counts)
	}
}
