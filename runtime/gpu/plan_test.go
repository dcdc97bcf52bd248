package gpu

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/models"
	_ "github.com/kiln-ml/kiln/models/all"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/tests/testshared"
)

// sharedLlamaModels lists the shared llama-architecture models (the ones the
// GPU backends must run), relative to shared/models.
func sharedLlamaModels(t *testing.T) (string, []string) {
	dir := testshared.Dir(t)
	var out []string
	for _, pat := range []string{"*.gguf", "synth/*.gguf", "zoo/*.gguf"} {
		ms, _ := filepath.Glob(filepath.Join(dir, "models", pat))
		for _, m := range ms {
			rel, _ := filepath.Rel(filepath.Join(dir, "models"), m)
			out = append(out, rel)
		}
	}
	return dir, out
}

// programs lowers a model's decode and prefill shape classes.
func programs(t *testing.T, path string) []*lower.Program {
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	arch, err := models.Load(f)
	if err != nil || arch.Hyper().Arch != "llama" {
		return nil
	}
	var ps []*lower.Program
	for _, T := range []int{1, 16} {
		g, err := models.BuildGraph(arch, f, models.Shape{Tokens: T, Ctx: 512})
		if err != nil {
			t.Fatal(err)
		}
		p, err := lower.Compile(g, lower.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// unsupported are shared models whose weight formats have no GPU kernel
// yet; planning them must fail with an error naming the format.
var unsupported = map[string]string{}

// TestPlanSharedModels plans every shared llama model's programs: every
// step gets kernels whose argument lists match the kernel table.
func TestPlanSharedModels(t *testing.T) {
	dir, ms := sharedLlamaModels(t)
	for _, m := range ms {
		for _, p := range programs(t, filepath.Join(dir, "models", m)) {
			pl, err := Build(p)
			if want, ok := unsupported[m]; ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: planned without error %v, want one naming %s", m, err, want)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", m, err)
				continue
			}
			// Every step is launched, or folded into the launch of the
			// norm whose output it quantizes.
			done := map[int]bool{}
			for _, l := range pl.Launches {
				done[l.Step] = true
			}
			for si := range p.Steps {
				if !done[si] && !pl.folded[si] {
					t.Errorf("%s: step %d (%s) has no launch", m, si, p.Steps[si].Kernel)
				}
			}
		}
	}
}

// TestPlanOtherArchitectures plans the synthetic models of every
// architecture, decode and prefill: every step of gemma2's, gemma3's and
// phi3's programs too (scale, soft-capping, the GELU gate, capped attention)
// gets a launch.
func TestPlanOtherArchitectures(t *testing.T) {
	dir := testshared.Dir(t)
	ms, _ := filepath.Glob(filepath.Join(dir, "models", "synth", "*.gguf"))
	seen := map[string]bool{}
	for _, m := range ms {
		f, err := gguf.Open(m)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		arch, err := models.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		name := arch.Hyper().Arch
		seen[name] = true
		for _, T := range []int{1, 16} {
			g, err := models.BuildGraph(arch, f, models.Shape{Tokens: T, Ctx: 512})
			if err != nil {
				t.Fatal(err)
			}
			p, err := lower.Compile(g, lower.Options{})
			if err != nil {
				t.Fatal(err)
			}
			pl, err := Build(p)
			if err != nil {
				t.Errorf("%s (%s), %d tokens: %v", filepath.Base(m), name, T, err)
				continue
			}
			done := map[int]bool{}
			for _, l := range pl.Launches {
				done[l.Step] = true
			}
			for si := range p.Steps {
				if !done[si] && !pl.folded[si] {
					t.Errorf("%s (%s): step %d (%s) has no launch", filepath.Base(m), name, si, p.Steps[si].Kernel)
				}
			}
		}
	}
	for _, a := range []string{"gemma2", "gemma3", "phi3"} {
		if !seen[a] {
			t.Errorf("no synthetic %s model in %s", a, filepath.Join(dir, "models", "synth"))
		}
	}
}
