package gpu

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
)

// TestTurboWriteEmulated runs the CUDA rendering of kv_write_turbo on the
// host (testdata/cuda_emu.h: a thread per lane, shuffles as rendezvous)
// and checks that it packs every vector byte for byte as
// ops.KVWriteRow does, scale search included: random vectors, vectors
// whose best gain is far from 1, a zero vector, at head sizes 32 to 256
// and 3, 4 and 5 bits. A check of the kernel's logic off the device; the
// CUDA tests run it on one. Skipped when no g++ is installed.
func TestTurboWriteEmulated(t *testing.T) {
	cxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++ here to run the kernel source on the host")
	}
	if testing.Short() {
		t.Skip("compiles the kernel source (slow)")
	}
	dir := t.TempDir()
	src := Render(CUDA)
	const asm = `asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"((unsigned short)h));`
	if !strings.Contains(src, asm) {
		t.Fatal("the h2f asm the emulation replaces is gone")
	}
	src = strings.Replace(src, asm, "f = emu_h2f(h);", 1)
	main, err := os.ReadFile(filepath.Join("testdata", "turbo_emu_main.cpp"))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "emu.cpp")
	if err := os.WriteFile(f, append([]byte(src), main...), 0o644); err != nil {
		t.Fatal(err)
	}
	shim, _ := filepath.Abs(filepath.Join("testdata", "cuda_emu.h"))
	bin := filepath.Join(dir, "emu")
	if out, err := exec.Command(cxx, "-std=c++20", "-O1", "-pthread", "-w", "-include", shim, f, "-o", bin).CombinedOutput(); err != nil {
		t.Fatalf("compile: %v\n%s", err, out)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, bits := range []int{3, 4, 5} {
		for _, hd := range []int{32, 64, 128, 256} {
			typ := kvquant.Type(int(kvquant.Turbo3) + bits - 3)
			const nhead, rows, pos, layer = 2, 24, 3, 7
			x := make([]float32, rows*nhead*hd)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			for row := 0; row < rows; row++ {
				v := x[row*nhead*hd : (row+1)*nhead*hd]
				switch row % 4 {
				case 1: // heavy tails: a few large coordinates
					for j := 0; j < 3; j++ {
						v[r.IntN(len(v))] *= 8
					}
				case 2: // light tails: the best gain moves off 1
					for j := range v {
						v[j] = float32(r.IntN(3)-1) + 0.01*float32(r.NormFloat64())
					}
				case 3:
					if row == 3 {
						clear(v[:hd]) // a zero vector (relative to a zero center below)
					}
				}
			}
			center := make([]float32, nhead*hd)
			if hd != 64 {
				for i := range center {
					center[i] = 0.1 * float32(r.NormFloat64())
				}
				copy(x[3*nhead*hd:3*nhead*hd+hd], center[:hd]) // still a zero vector
			}
			var in bytes.Buffer
			fmt.Fprintf(&in, "%d %d %d %d %d %d\n", nhead, hd, bits, layer, rows, pos)
			for _, v := range append(append([]float32{}, x...), center...) {
				fmt.Fprintf(&in, "%x ", math.Float32bits(v))
			}
			cmd := exec.Command(bin)
			cmd.Stdin = &in
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("bits %d hd %d: emulation: %v", bits, hd, err)
			}
			got, err := hex.DecodeString(strings.TrimSpace(string(out)))
			if err != nil {
				t.Fatal(err)
			}
			hb := typ.HeadBytes(hd)
			rb := nhead * hb
			signs := ops.KVSigns(typ, layer, nhead, hd)
			tmp := make([]float32, 2*hd)
			want := make([]byte, rb)
			bad := 0
			for row := 0; row < rows; row++ {
				ops.KVWriteRow(typ, want, x[row*nhead*hd:(row+1)*nhead*hd], nhead, signs, center, tmp)
				for h := 0; h < nhead; h++ {
					g, w := got[row*rb+h*hb:row*rb+(h+1)*hb], want[h*hb:(h+1)*hb]
					if !bytes.Equal(g, w) {
						bad++
						if bad <= 3 {
							t.Errorf("bits %d hd %d row %d head %d: packed\n%x, want\n%x", bits, hd, row, h, g, w)
						}
					}
				}
			}
			if bad > 0 {
				t.Errorf("bits %d hd %d: %d of %d vectors differ", bits, hd, bad, rows*nhead)
			}
		}
	}
}
