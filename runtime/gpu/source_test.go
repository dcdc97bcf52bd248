package gpu

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderComplete checks that both renderings substituted every template
// placeholder and hold every kernel of the table.
func TestRenderComplete(t *testing.T) {
	for _, d := range []Dialect{CUDA, MSL} {
		src := Render(d)
		for _, ph := range []string{"{W}", "{DOT}", "{SUB}", "{SUBARG}", "MM_TOKENS", "MM_WARPS"} {
			if strings.Contains(src, ph) {
				t.Errorf("%s: placeholder %s left in the source", d, ph)
			}
		}
		for _, k := range Kernels {
			if !strings.Contains(src, " "+k.Name+"(") {
				t.Errorf("%s: kernel %s missing", d, k.Name)
			}
		}
	}
}

// TestRenderSyntax compiles both renderings with the host C++ compiler
// against a small shim of each dialect's vocabulary (testdata/*_shim.h):
// a syntax and type check of every kernel body on machines without NVRTC
// or the Metal compiler. Skipped when no C++ compiler is installed.
func TestRenderSyntax(t *testing.T) {
	cxx := ""
	for _, c := range []string{"clang++", "g++"} {
		if p, err := exec.LookPath(c); err == nil {
			cxx = p
			break
		}
	}
	if cxx == "" {
		t.Skip("no clang++ or g++ here to syntax-check the kernel source")
	}
	dir := t.TempDir()
	for _, c := range []struct {
		d    Dialect
		shim string
		fix  func(string) string
	}{
		{CUDA, "cuda_shim.h", func(s string) string { return s }},
		// The MSL attributes ([[buffer(0)]]) mean nothing to a host compiler.
		{MSL, "msl_shim.h", func(s string) string {
			s = strings.Replace(s, "#include <metal_stdlib>", "", 1)
			for _, a := range []string{"buffer", "threadgroup_position_in_grid", "thread_position_in_threadgroup", "threads_per_threadgroup"} {
				s = replaceAttr(s, a)
			}
			return s
		}},
	} {
		shim, err := filepath.Abs(filepath.Join("testdata", c.shim))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, c.d.String()+".cpp")
		if err := os.WriteFile(f, []byte(c.fix(Render(c.d))), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(cxx, "-std=c++17", "-fsyntax-only", "-Wno-attributes", "-include", shim, f).CombinedOutput()
		if err != nil {
			t.Errorf("%s rendering does not compile:\n%s", c.d, out)
		}
	}
}

// replaceAttr drops every [[name]] and [[name(N)]] attribute.
func replaceAttr(s, name string) string {
	for {
		i := strings.Index(s, "[["+name)
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "]]")
		s = s[:i] + s[i+j+2:]
	}
}
