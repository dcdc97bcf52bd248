package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/kiln-ml/kiln/tests/testshared"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/lower"
)

// The CLI runs in-process through Main against the shared models; every
// test skips when ../shared is absent.

// shared finds ../shared beside the repository root or skips.
func shared(t *testing.T) string {
	return testshared.Dir(t)
}

func model(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(shared(t), "models", name)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// cli runs Main; a panic inside it becomes exit 3 with a stack on stderr,
// which every caller below rejects.
func cli(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(args, &o, &e)
	return code, o.String(), e.String()
}

// mustRun runs the CLI and fails unless it exits 0.
func mustRun(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	code, out, errs := cli(args...)
	if code != 0 {
		t.Fatalf("kiln %s: exit %d\nstderr: %s", strings.Join(args, " "), code, errs)
	}
	return out, errs
}

func joinIDs(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

func TestRun(t *testing.T) {
	m := model(t, "stories260K-f32.gguf")
	args := []string{"run", "-m", m, "-p", "Once upon a time", "-n", "20", "--seed", "1", "-t", "2"}
	out1, errs := mustRun(t, args...)
	if strings.TrimSpace(out1) == "" {
		t.Errorf("no text on stdout")
	}
	for _, want := range []string{"prompt tokens: ", "prefill: ", "decode: ", "tok/s"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	if strings.Contains(out1, "tok/s") {
		t.Errorf("timings leaked to stdout: %q", out1)
	}
	if out2, _ := mustRun(t, args...); out2 != out1 {
		t.Errorf("same seed, different text:\n%q\n%q", out1, out2)
	}

	greedy := []string{"run", "-m", m, "-p", "Once upon a time", "-n", "20", "--temp", "0", "-t", "2"}
	g1, _ := mustRun(t, greedy...)
	g2, _ := mustRun(t, greedy...)
	if g1 != g2 {
		t.Errorf("--temp 0 is not deterministic:\n%q\n%q", g1, g2)
	}
	if g3, _ := mustRun(t, append(greedy, "--seed", "99")...); g3 != g1 {
		t.Errorf("greedy output depends on the seed:\n%q\n%q", g1, g3)
	}

	// -n 0 generates nothing and still reports the prompt.
	out, errs := mustRun(t, "run", "-m", m, "-p", "Once upon a time", "-n", "0", "-t", "2")
	if strings.TrimSpace(out) != "" || !strings.Contains(errs, "prompt tokens: ") {
		t.Errorf("-n 0: stdout %q, stderr %q", out, errs)
	}
	// -v adds the model line.
	if _, errs := mustRun(t, "run", "-m", m, "-p", "Once", "-n", "2", "-v", "-t", "2"); !strings.Contains(errs, "5 layers") || !strings.Contains(errs, "KV cache") || !strings.Contains(errs, "k f16, v f16: 320 + 320 bytes per token") {
		t.Errorf("-v: stderr %q", errs)
	}
}

// logitsOut is what `kiln logits --json` prints.
type logitsOut struct {
	Tokens         []int32        `json:"tokens"`
	LogitsFirstPos int            `json:"logits_first_pos"`
	Logits         [][]float64    `json:"logits"`
	Argmax         []int32        `json:"argmax"`
	Top10          [][][2]float64 `json:"top10"`
	NextLogprob    []float64      `json:"next_logprob"`
	MeanNLL        float64        `json:"mean_nll"`
	PPL            float64        `json:"ppl"`
}

func TestLogitsJSON(t *testing.T) {
	m := model(t, "stories260K-f32.gguf")
	out, _ := mustRun(t, "logits", "-m", m, "--tokens", "1,348,342", "--json", "-t", "2")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"tokens", "logits_first_pos", "logits", "argmax", "top10", "next_logprob", "mean_nll", "ppl"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	var r logitsOut
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if joinIDs(r.Tokens) != "1,348,342" || r.LogitsFirstPos != 0 || len(r.Logits) != 3 || len(r.Argmax) != 3 ||
		len(r.Top10) != 3 || len(r.NextLogprob) != 2 {
		t.Fatalf("shapes: tokens %v, first pos %d, %d logit rows, %d argmax, %d top10, %d next_logprob",
			r.Tokens, r.LogitsFirstPos, len(r.Logits), len(r.Argmax), len(r.Top10), len(r.NextLogprob))
	}
	for i, row := range r.Logits {
		if len(row) != 512 {
			t.Fatalf("row %d has %d logits, want 512", i, len(row))
		}
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if int(r.Argmax[i]) != best || len(r.Top10[i]) != 10 || int(r.Top10[i][0][0]) != best {
			t.Errorf("row %d: argmax %d, top10[0] %v, want %d", i, r.Argmax[i], r.Top10[i][0], best)
		}
	}
	if math.Abs(r.PPL-math.Exp(r.MeanNLL)) > 1e-9*r.PPL || r.MeanNLL <= 0 {
		t.Errorf("ppl %g is not exp(mean_nll %g)", r.PPL, r.MeanNLL)
	}

	// The same without --json is a table.
	if out, _ := mustRun(t, "logits", "-m", m, "--tokens", "1,348,342", "-t", "2"); !strings.Contains(out, "mean NLL") {
		t.Errorf("text output lacks the NLL line:\n%s", out)
	}
}

func TestLogitsMatchReference(t *testing.T) {
	sh := shared(t)
	var ref logitsOut
	readJSON(t, filepath.Join(sh, "reference", "logits", "stories260K-f32.seq16.json"), &ref)
	if len(ref.Tokens) != 16 {
		t.Fatalf("reference has %d tokens, want 16", len(ref.Tokens))
	}
	// The reference ran with an F32 KV cache; kiln's default is f16.
	out, _ := mustRun(t, "logits", "-m", model(t, "stories260K-f32.gguf"), "--tokens", joinIDs(ref.Tokens), "--json", "-t", "2", "-ctk", "f32", "-ctv", "f32")
	var got logitsOut
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.LogitsFirstPos != ref.LogitsFirstPos || len(got.Logits) != len(ref.Logits) {
		t.Fatalf("%d rows from %d, reference %d from %d", len(got.Logits), got.LogitsFirstPos, len(ref.Logits), ref.LogitsFirstPos)
	}
	var num, den float64
	for r := range ref.Logits {
		if len(got.Logits[r]) != len(ref.Logits[r]) {
			t.Fatalf("row %d: %d logits, reference %d", r, len(got.Logits[r]), len(ref.Logits[r]))
		}
		for i, v := range ref.Logits[r] {
			d := got.Logits[r][i] - v
			num += d * d
			den += v * v
		}
	}
	nmse := num / den
	t.Logf("NMSE %.3g against llama.cpp", nmse)
	if nmse > 1e-6 {
		t.Errorf("NMSE %g against llama.cpp, bound 1e-6", nmse)
	}
	if joinIDs(got.Argmax) != joinIDs(ref.Argmax) {
		t.Errorf("argmax %v, llama.cpp %v", got.Argmax, ref.Argmax)
	}
	if math.Abs(got.PPL-ref.PPL) > 1e-4*ref.PPL {
		t.Errorf("ppl %g, llama.cpp %g", got.PPL, ref.PPL)
	}
}

func TestPPL(t *testing.T) {
	sh := shared(t)
	var ref struct {
		NChunks int `json:"n_chunks"`
		NTokens int `json:"n_tokens"`
		F32KV   struct {
			FinalPPL float64 `json:"final_ppl"`
		} `json:"f32kv_nofa"`
	}
	readJSON(t, filepath.Join(sh, "reference", "ppl", "stories260K-f32.ppl_1k.json"), &ref)
	out, _ := mustRun(t, "ppl", "-m", model(t, "stories260K-f32.gguf"), "-f", filepath.Join(sh, "data", "ppl_1k.txt"), "-c", "128", "--json", "-t", "2", "--cache-type-k", "f32", "--cache-type-v", "f32")
	var r struct {
		PPL     float64 `json:"ppl"`
		NChunks int     `json:"n_chunks"`
		NTokens int     `json:"n_tokens"`
		TypeK   string  `json:"type_k"`
		TypeV   string  `json:"type_v"`
		KVBytes int64   `json:"kv_bytes_per_token"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	// stories260K: 5 layers, 4 KV heads of 8, keys and values in f32.
	if r.TypeK != "f32" || r.TypeV != "f32" || r.KVBytes != 5*2*4*8*4 {
		t.Errorf("KV cache %s/%s, %d bytes per token; want f32/f32, %d", r.TypeK, r.TypeV, r.KVBytes, 5*2*4*8*4)
	}
	rel := (r.PPL - ref.F32KV.FinalPPL) / ref.F32KV.FinalPPL
	t.Logf("ppl %.4f, llama.cpp %.4f (%+.4f%%)", r.PPL, ref.F32KV.FinalPPL, 100*rel)
	if math.Abs(rel) > 0.001 {
		t.Errorf("ppl %.4f differs from llama.cpp's %.4f by more than 0.1%%", r.PPL, ref.F32KV.FinalPPL)
	}
	if r.NChunks != 21 || r.NChunks != ref.NChunks || r.NTokens != ref.NTokens {
		t.Errorf("%d chunks of %d tokens, want 21 (reference %d chunks, %d tokens)", r.NChunks, r.NTokens, ref.NChunks, ref.NTokens)
	}
	// The text form says the same.
	if out, _ := mustRun(t, "ppl", "-m", model(t, "stories260K-f32.gguf"), "-f", filepath.Join(sh, "data", "ppl_1k.txt"), "-c", "128", "-t", "2"); !strings.Contains(out, "21 chunks of 128") {
		t.Errorf("text output: %s", out)
	}
}

func TestTokenize(t *testing.T) {
	sh := shared(t)
	m := model(t, "llama-2-tiny-random-f16.gguf")
	var cases []struct {
		Text             string  `json:"text"`
		IDsNoBOS         []int32 `json:"ids_no_bos"`
		IDsBOS           []int32 `json:"ids_bos"`
		IDsNoBOSNoSpecal []int32 `json:"ids_no_bos_no_special"`
	}
	readJSON(t, filepath.Join(sh, "reference", "tokenizer", "llama-spm.json"), &cases)
	if len(cases) == 0 {
		t.Fatal("no reference cases")
	}
	modes := []struct {
		flags []string
		want  func(i int) []int32
	}{
		{nil, func(i int) []int32 { return cases[i].IDsBOS }},
		{[]string{"--no-bos"}, func(i int) []int32 { return cases[i].IDsNoBOS }},
		{[]string{"--no-bos", "--no-special"}, func(i int) []int32 { return cases[i].IDsNoBOSNoSpecal }},
	}
	dir := t.TempDir()
	for i, c := range cases {
		// -p cannot carry an empty text; -f can, and is used for every
		// other case too so both paths are covered.
		src := []string{"-p", c.Text}
		if c.Text == "" || i%2 == 1 {
			p := filepath.Join(dir, fmt.Sprintf("case%d.txt", i))
			if err := os.WriteFile(p, []byte(c.Text), 0o644); err != nil {
				t.Fatal(err)
			}
			src = []string{"-f", p}
		}
		for _, mode := range modes {
			args := append(append([]string{"tokenize", "-m", m, "--json"}, src...), mode.flags...)
			out, _ := mustRun(t, args...)
			var got struct {
				IDs []int32 `json:"ids"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%q %v: not JSON: %v\n%s", c.Text, mode.flags, err, out)
			}
			if got.IDs == nil {
				t.Errorf("%q %v: ids is null, want a list", c.Text, mode.flags)
			}
			if want := mode.want(i); joinIDs(got.IDs) != joinIDs(want) {
				t.Errorf("%q %v:\n got %v\nwant %v", c.Text, mode.flags, got.IDs, want)
			}
		}
	}
	// Without --json: one line per token with its piece.
	out, _ := mustRun(t, "tokenize", "-m", m, "-p", "Hello world")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "15043") || !strings.Contains(lines[1], "Hello") {
		t.Errorf("text output:\n%s", out)
	}
}

// jsonGraph is what `kiln graph --format json` prints.
type jsonGraph struct {
	Name  string `json:"name"`
	Nodes []struct {
		ID     int    `json:"id"`
		Name   string `json:"name"`
		Kind   string `json:"kind"`
		Op     string `json:"op"`
		Inputs []int  `json:"inputs"`
		Layer  int    `json:"layer"`
	} `json:"nodes"`
}

func TestGraph(t *testing.T) {
	m := model(t, "stories260K-f32.gguf")
	out, _ := mustRun(t, "graph", "-m", m, "--format", "json")
	var all jsonGraph
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("--format json: %v", err)
	}
	if len(all.Nodes) == 0 || !strings.Contains(out, "blk.4.") {
		t.Errorf("--format json: %d nodes, no blk.4", len(all.Nodes))
	}

	if out, _ := mustRun(t, "graph", "-m", m, "--format", "dot"); !strings.HasPrefix(out, "digraph") || !strings.HasSuffix(strings.TrimSpace(out), "}") {
		t.Errorf("--format dot output starts %.20q", out)
	}

	// --layer 0: blk.0 nodes, plus only the nodes they read.
	out, _ = mustRun(t, "graph", "-m", m, "--layer", "0", "--format", "json")
	var l0 jsonGraph
	if err := json.Unmarshal([]byte(out), &l0); err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	n0 := 0
	for _, n := range l0.Nodes {
		if n.Layer == 0 {
			n0++
			for _, in := range n.Inputs {
				used[in] = true
			}
		}
	}
	if n0 == 0 {
		t.Fatal("--layer 0 shows no layer-0 nodes")
	}
	for _, n := range l0.Nodes {
		switch {
		case n.Layer == 0 && !strings.HasPrefix(n.Name, "blk.0."):
			t.Errorf("--layer 0: layer-0 node %q is not named blk.0.*", n.Name)
		case n.Layer != 0 && !used[n.ID]:
			t.Errorf("--layer 0 shows %q (layer %d), which no blk.0 node reads", n.Name, n.Layer)
		case strings.HasPrefix(n.Name, "blk.") && !strings.HasPrefix(n.Name, "blk.0."):
			t.Errorf("--layer 0 shows %q", n.Name)
		}
	}
	if out, _ := mustRun(t, "graph", "-m", m, "--layer", "0"); strings.Contains(out, "blk.1.") || !strings.Contains(out, "blk.0.attn_norm") {
		t.Errorf("--layer 0 text shows other layers or misses blk.0:\n%s", out)
	}

	// Activation quantization shows on a quantized model after its pass,
	// and not in the graph as built.
	q := model(t, "stories260K-q8_0.gguf")
	if out, _ := mustRun(t, "graph", "-m", q, "--layer", "0"); strings.Contains(out, "quantize(") {
		t.Errorf("the graph as built already has quantize nodes")
	}
	if out, _ := mustRun(t, "graph", "-m", q, "--after", "quantize-activations"); !strings.Contains(out, "= quantize(") || !strings.Contains(out, "q8_0[") {
		t.Errorf("--after quantize-activations shows no quantize nodes:\n%s", out)
	}
	if out, _ := mustRun(t, "graph", "-m", m, "--after", "quantize-activations", "--layer", "0"); !strings.Contains(out, "rms_norm_mul") {
		t.Errorf("--after shows no fused nodes:\n%s", out)
	}

	if out, _ := mustRun(t, "graph", "-m", m, "--program"); !strings.Contains(out, "arena") {
		t.Errorf("--program lacks the arena:\n%s", out)
	}
	out, _ = mustRun(t, "graph", "-m", m, "--stats")
	for _, p := range lower.Passes() {
		if !strings.Contains(out, p.Name+":") {
			t.Errorf("--stats lacks pass %s:\n%s", p.Name, out)
		}
	}

	html := filepath.Join(t.TempDir(), "s.html")
	mustRun(t, "graph", "-m", m, "--stages", "--format", "html", "-o", html)
	if b, _ := os.ReadFile(html); !bytes.Contains(b, []byte("fold-residual-add")) {
		t.Errorf("stages page lacks a pass column")
	}
}

func TestInspect(t *testing.T) {
	out, _ := mustRun(t, "inspect", model(t, "stories260K-f32.gguf"))
	for _, want := range []string{"GGUF v3", "general.architecture", `"llama"`, "tensors:", "name", "dims", "token_embd.weight", "blk.4.ffn_down.weight", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q", want)
		}
	}
	// Long arrays are cut at --arrays.
	if !strings.Contains(out, "504 more") {
		t.Errorf("the vocabulary is not cut at 8 elements")
	}
}

func TestBench(t *testing.T) {
	m := model(t, "stories260K-f32.gguf")
	out, _ := mustRun(t, "bench", "-m", m, "-p", "16", "-n", "8", "-t", "1", "-r", "2", "--json")
	var rows []struct {
		Test string  `json:"test"`
		TPS  float64 `json:"t/s"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Test != "pp16" || rows[1].Test != "tg8" || rows[0].TPS <= 0 {
		t.Errorf("rows %+v", rows)
	}
	// At a depth, with an f32 cache: the table names both.
	out, _ = mustRun(t, "bench", "-m", m, "-p", "", "-n", "4", "-d", "20", "-t", "1", "-r", "1", "-ctk", "f32", "--cache-type-v", "f32")
	if !strings.Contains(out, "tg4 @ d20 k:f32 v:f32") {
		t.Errorf("bench table does not name the depth and cache types:\n%s", out)
	}
	// --bandwidth: one line per thread count, with the model's decode bound.
	out, _ = mustRun(t, "bench", "--bandwidth", "-m", m, "-t", "1,2")
	for _, want := range []string{"weights read per decode token", "GB/s (1 threads); decode bound", "GB/s (2 threads); decode bound"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench --bandwidth output lacks %q:\n%s", want, out)
		}
	}
}

func TestBadFlags(t *testing.T) {
	sh := shared(t)
	m := model(t, "stories260K-f32.gguf")
	missing := filepath.Join(t.TempDir(), "no-such-model.gguf")
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"nosuch"}, 2, []string{`unknown command "nosuch"`, "commands:"}},
		{[]string{"run", "-p", "x"}, 2, []string{"-m FILE is required"}},
		{[]string{"logits", "--tokens", "1"}, 2, []string{"-m FILE is required"}},
		{[]string{"ppl", "-f", "x"}, 2, []string{"-m FILE is required"}},
		{[]string{"graph"}, 2, []string{"-m FILE is required"}},
		{[]string{"tokenize", "-p", "x"}, 2, []string{"-m FILE is required"}},
		{[]string{"run", "-m", m}, 2, []string{"-p PROMPT"}},
		{[]string{"run", "-m", m, "-p", "x", "-n", "-1"}, 2, []string{"-n -1"}},
		{[]string{"run", "-m", m, "-p", "x", "--temp", "-1"}, 2, []string{"--temp -1"}},
		{[]string{"run", "-m", m, "-p", "x", "--top-p", "2"}, 2, []string{"--top-p 2"}},
		{[]string{"run", "-m", m, "-p", "x", "--min-p", "-0.5"}, 2, []string{"--min-p -0.5"}},
		{[]string{"run", "-m", m, "-p", "x", "--top-k", "-1"}, 2, []string{"--top-k -1"}},
		{[]string{"run", "-m", m, "-p", "x", "--repeat-penalty", "0"}, 2, []string{"--repeat-penalty 0"}},
		{[]string{"run", "-m", m, "-p", "x", "-c", "-1"}, 2, []string{"-c -1"}},
		{[]string{"run", "-m", m, "-p", "x", "-t", "-2"}, 2, []string{"-t -2"}},
		{[]string{"run", "-m", m, "-p", "x", "--bogus"}, 2, []string{"bogus"}},
		{[]string{"run", "-m", m, "-p", "x", "stray"}, 2, []string{`unexpected argument "stray"`}},
		{[]string{"run", "-m", m, "-p", "x", "--passes", "quantize-activations"}, 2, []string{"-NAME"}},
		{[]string{"run", "-m", m, "-p", "x", "--passes=-schedule"}, 2, []string{`"schedule" is required`}},
		{[]string{"run", "-m", m, "-p", "Once upon a time", "-c", "4"}, 1, []string{"context holds 4", "raise -c"}},
		{[]string{"run", "-m", missing, "-p", "x"}, 1, []string{missing, "no such file"}},
		{[]string{"logits", "-m", missing, "--tokens", "1"}, 1, []string{missing}},
		{[]string{"ppl", "-m", missing, "-f", filepath.Join(sh, "data", "ppl_1k.txt")}, 1, []string{missing}},
		{[]string{"tokenize", "-m", missing, "-p", "x"}, 1, []string{missing}},
		{[]string{"graph", "-m", missing}, 1, []string{missing}},
		{[]string{"inspect", missing}, 1, []string{missing}},
		{[]string{"ppl", "-m", m, "-f", missing}, 1, []string{missing}},
		{[]string{"logits", "-m", m}, 2, []string{"--tokens is required"}},
		{[]string{"logits", "-m", m, "--tokens", "1,x"}, 2, []string{`"x" is not a token id`}},
		{[]string{"logits", "-m", m, "--tokens", "1,,2"}, 2, []string{"not a token id"}},
		{[]string{"logits", "-m", m, "--tokens", "99999999999"}, 2, []string{"99999999999"}},
		{[]string{"logits", "-m", m, "--tokens", "999999"}, 1, []string{"id 999999", "out of range"}},
		{[]string{"logits", "-m", m, "--tokens", "1,-5"}, 1, []string{"id -5", "out of range"}},
		{[]string{"ppl", "-m", m}, 2, []string{"-f FILE"}},
		{[]string{"ppl", "-m", m, "-f", filepath.Join(sh, "data", "ppl_1k.txt"), "-c", "4096"}, 1, []string{"fewer than one chunk"}},
		{[]string{"tokenize", "-m", m}, 2, []string{"-p TEXT"}},
		{[]string{"tokenize", "-m", m, "-p", "a", "-f", "b"}, 2, []string{"exactly one"}},
		{[]string{"graph", "-m", m, "--format", "png"}, 2, []string{`"png"`}},
		{[]string{"graph", "-m", m, "--format", "html"}, 2, []string{"--stages"}},
		{[]string{"graph", "-m", m, "--layer", "99"}, 2, []string{"--layer 99", "5 layers"}},
		{[]string{"graph", "-m", m, "--layer", "-2"}, 2, []string{"--layer -2"}},
		{[]string{"graph", "-m", m, "-T", "0"}, 2, []string{"-T 0"}},
		{[]string{"graph", "-m", m, "--passes=-nosuch"}, 2, []string{`unknown pass "nosuch"`, "quantize-activations"}},
		{[]string{"graph", "-m", m, "--after", "nosuch"}, 2, []string{`unknown pass "nosuch"`}},
		{[]string{"graph", "-m", m, "--after", "quantize-activations", "--passes=-quantize-activations"}, 1, []string{`"quantize-activations" is switched off`}},
		{[]string{"bench", "-m", m, "-t", "0"}, 2, []string{"-t"}},
		{[]string{"run", "-m", m, "-p", "x", "-ctk", "q9"}, 2, []string{"-ctk", `unknown KV cache type "q9"`, "turbo_kv_4b"}},
		{[]string{"ppl", "-m", m, "-f", "x", "--cache-type-v", "turbo_kv_4b"}, 2, []string{"-ctv", "turbo_kv_4b is for keys only"}},
		{[]string{"bench", "-m", m, "-k", "bogus"}, 2, []string{`unknown KV cache type "bogus"`}},
		{[]string{"bench", "-m", m, "-d", "-1"}, 2, []string{"-d"}},
		{[]string{"logits", "-m", m, "--tokens", "1", "-k", "turbo_kv_4b"}, 1, []string{"key cache", "power-of-two head size", "have 8"}},
		{[]string{"inspect"}, 2, []string{"kiln inspect FILE"}},
		{[]string{"inspect", m, m}, 2, []string{"unexpected argument"}},
	}
	for _, c := range cases {
		code, out, errs := cli(c.args...)
		name := "kiln " + strings.Join(c.args, " ")
		if code != c.code {
			t.Errorf("%s: exit %d, want %d\nstderr: %s", name, code, c.code, errs)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: stderr %q does not mention %q", name, errs, w)
			}
		}
		if strings.Contains(errs, "internal error") || strings.Contains(errs, "goroutine ") {
			t.Errorf("%s: a panic reached the user:\n%s", name, errs)
		}
		if c.code != 0 && c.args[0] != "nosuch" && out != "" {
			t.Errorf("%s: failed but wrote to stdout: %q", name, out)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		code, _, errs := cli(args...)
		if code != 0 || !strings.Contains(errs, "commands:") {
			t.Errorf("kiln %s: exit %d, stderr %q", args[0], code, errs)
		}
		for _, c := range commands {
			if !strings.Contains(errs, c.name) {
				t.Errorf("kiln %s does not list %s", args[0], c.name)
			}
		}
	}
	if code, _, errs := cli(); code != 2 || !strings.Contains(errs, "usage: kiln") {
		t.Errorf("kiln with no command: exit %d, stderr %q", code, errs)
	}
	for _, c := range commands {
		for _, h := range []string{"-h", "--help"} {
			code, out, errs := cli(c.name, h)
			if code != 0 {
				t.Errorf("kiln %s %s: exit %d\n%s", c.name, h, code, errs)
			}
			if out != "" || !strings.Contains(errs, "kiln "+c.name) || !strings.Contains(errs, "  -") {
				t.Errorf("kiln %s %s: want flag help on stderr, got stdout %q stderr %q", c.name, h, out, errs)
			}
		}
	}
}

// TestArchStructure checks that inspect and graph show what is particular
// to an architecture: fused tensors, sliding-window layers, soft-caps.
func TestArchStructure(t *testing.T) {
	out, _ := mustRun(t, "inspect", model(t, "synth/phi3-q8_0.gguf"))
	for _, want := range []string{"architecture:", "fused attn_qkv: Q rows [0,256), K rows [256,384), V rows [384,512)", "fused ffn_up"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect phi3 lacks %q", want)
		}
	}
	out, _ = mustRun(t, "graph", "-m", model(t, "synth/phi3-q8_0.gguf"), "--layer", "0")
	if !strings.Contains(out, "blk.0.attn_qkv.weight[256:384] = param q8_0[128,256]") {
		t.Errorf("graph of phi3 does not show the K rows of attn_qkv")
	}
	out, _ = mustRun(t, "graph", "-m", model(t, "synth/gemma2-q8_0.gguf"))
	for _, want := range []string{"# sliding window 64 on layers [0], full attention on layers [1]", "window=64 softcap=0.2", "result_softcap = softcap("} {
		if !strings.Contains(out, want) {
			t.Errorf("graph of gemma2 lacks %q", want)
		}
	}
}
