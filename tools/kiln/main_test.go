package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shared finds ../shared beside the repository root or skips.
func shared(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Skip("no go.mod above the test directory")
		}
		dir = filepath.Dir(dir)
	}
	s := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(filepath.Join(s, "models")); err != nil {
		t.Skipf("shared test data not found at %s", s)
	}
	return s
}

func cli(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(args, &o, &e)
	return code, o.String(), e.String()
}

func TestRunDeterministic(t *testing.T) {
	m := filepath.Join(shared(t), "models", "stories260K-f32.gguf")
	args := []string{"run", "-m", m, "-p", "Once upon a time", "-n", "20", "--seed", "7", "-t", "2"}
	code, out1, errs := cli(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.TrimSpace(out1) == "" || !strings.Contains(errs, "prompt tokens: ") || !strings.Contains(errs, "decode:") {
		t.Fatalf("stdout %q, stderr %q", out1, errs)
	}
	if _, out2, _ := cli(args...); out2 != out1 {
		t.Errorf("same seed, different text:\n%q\n%q", out1, out2)
	}
	g := []string{"run", "-m", m, "-p", "Once upon a time", "-n", "20", "--temp", "0"}
	_, g1, _ := cli(g...)
	_, g2, _ := cli(append(g, "--seed", "99")...)
	if g1 != g2 {
		t.Errorf("greedy output depends on the seed:\n%q\n%q", g1, g2)
	}
}

func TestLogitsJSONMatchesReference(t *testing.T) {
	sh := shared(t)
	var ref struct {
		Tokens []int32     `json:"tokens"`
		Logits [][]float64 `json:"logits"`
	}
	b, err := os.ReadFile(filepath.Join(sh, "reference", "logits", "stories260K-f32.seq16.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(ref.Tokens))
	for i, id := range ref.Tokens {
		ids[i] = itoa(int(id))
	}
	code, out, errs := cli("logits", "-m", filepath.Join(sh, "models", "stories260K-f32.gguf"), "--tokens", strings.Join(ids, ","), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tokens", "logits_first_pos", "logits", "argmax", "top10", "next_logprob", "mean_nll", "ppl"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	var logits [][]float64
	if err := json.Unmarshal(got["logits"], &logits); err != nil {
		t.Fatal(err)
	}
	var num, den float64
	for r := range ref.Logits {
		for i, v := range ref.Logits[r] {
			d := logits[r][i] - v
			num += d * d
			den += v * v
		}
	}
	if num/den > 1e-6 {
		t.Errorf("NMSE %g against llama.cpp", num/den)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestPPL(t *testing.T) {
	sh := shared(t)
	code, out, errs := cli("ppl", "-m", filepath.Join(sh, "models", "stories260K-f32.gguf"), "-f", filepath.Join(sh, "data", "ppl_1k.txt"), "-c", "128", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		PPL     float64 `json:"ppl"`
		NChunks int     `json:"n_chunks"`
		NTokens int     `json:"n_tokens"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.NChunks != 21 || r.NTokens != 2757 || r.PPL < 100.27 || r.PPL > 100.47 {
		t.Errorf("got %+v, want 21 chunks of 2757 tokens and ppl 100.37", r)
	}
}

func TestTokenize(t *testing.T) {
	sh := shared(t)
	m := filepath.Join(sh, "models", "llama-2-tiny-random-f16.gguf")
	code, out, errs := cli("tokenize", "-m", m, "-p", "Hello world", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// llama-spm: BOS, "▁Hello", "▁world".
	if strings.TrimSpace(out) != `{"ids":[1,15043,3186]}` {
		t.Errorf("got %s", out)
	}
	_, out, _ = cli("tokenize", "-m", m, "-p", "Hello world", "--json", "--no-bos")
	if strings.TrimSpace(out) != `{"ids":[15043,3186]}` {
		t.Errorf("--no-bos: got %s", out)
	}
	_, special, _ := cli("tokenize", "-m", m, "-p", "</s>", "--json", "--no-bos")
	_, plain, _ := cli("tokenize", "-m", m, "-p", "</s>", "--json", "--no-bos", "--no-special")
	if strings.TrimSpace(special) != `{"ids":[2]}` || special == plain {
		t.Errorf("special %s, --no-special %s", special, plain)
	}
}

func TestGraphAndInspect(t *testing.T) {
	m := filepath.Join(shared(t), "models", "stories260K-f32.gguf")
	code, out, errs := cli("graph", "-m", m, "--format", "json")
	if code != 0 || !json.Valid([]byte(out)) {
		t.Fatalf("json: exit %d %s", code, errs)
	}
	if _, out, _ = cli("graph", "-m", m, "--format", "dot"); !strings.HasPrefix(out, "digraph") {
		t.Errorf("dot output starts %.20q", out)
	}
	_, out, _ = cli("graph", "-m", m, "--layer", "0")
	if strings.Contains(out, "blk.1.") || !strings.Contains(out, "blk.0.attn_norm") {
		t.Errorf("--layer 0 shows other layers or misses blk.0")
	}
	if _, out, _ = cli("graph", "-m", m, "--after", "quantize-activations", "--layer", "0"); !strings.Contains(out, "rms_norm_mul") {
		t.Errorf("--after shows no fused nodes:\n%s", out)
	}
	if _, out, _ = cli("graph", "-m", m, "--program"); !strings.Contains(out, "arena") {
		t.Errorf("--program lacks the arena")
	}
	if _, out, _ = cli("graph", "-m", m, "--stats"); !strings.Contains(out, "memplan:") {
		t.Errorf("--stats lacks memplan")
	}
	html := filepath.Join(t.TempDir(), "s.html")
	if code, _, errs := cli("graph", "-m", m, "--stages", "--format", "html", "-o", html); code != 0 {
		t.Errorf("--stages html: %s", errs)
	}
	if b, _ := os.ReadFile(html); !bytes.Contains(b, []byte("fold-residual-add")) {
		t.Errorf("stages page lacks a pass column")
	}
	if code, _, errs := cli("graph", "-m", m, "--layer", "99"); code != 2 || !strings.Contains(errs, "99") {
		t.Errorf("--layer 99: exit %d %s", code, errs)
	}
	if code, _, errs := cli("graph", "-m", m, "--passes=-nosuch"); code == 0 || !strings.Contains(errs, "nosuch") {
		t.Errorf("--passes=-nosuch: exit %d %s", code, errs)
	}
	code, out, _ = cli("inspect", m)
	if code != 0 || !strings.Contains(out, "general.architecture") || !strings.Contains(out, "token_embd.weight") {
		t.Errorf("inspect: exit %d\n%s", code, out)
	}
}

func TestBench(t *testing.T) {
	m := filepath.Join(shared(t), "models", "stories260K-f32.gguf")
	code, out, errs := cli("bench", "-m", m, "-p", "16", "-n", "8", "-t", "1", "-r", "2", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
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
}

func TestBadFlags(t *testing.T) {
	m := filepath.Join(shared(t), "models", "stories260K-f32.gguf")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nosuch"}, 2, "unknown command"},
		{[]string{"run", "-p", "x"}, 2, "-m FILE"},
		{[]string{"run", "-m", m}, 2, "-p PROMPT"},
		{[]string{"run", "-m", m, "-p", "x", "-n", "-1"}, 2, "-n"},
		{[]string{"run", "-m", m, "-p", "x", "--temp", "-1"}, 2, "temp"},
		{[]string{"run", "-m", m, "-p", "x", "--top-p", "2"}, 2, "top-p"},
		{[]string{"run", "-m", m, "-p", "x", "--bogus"}, 2, "bogus"},
		{[]string{"run", "-m", "/nonexistent/model.gguf", "-p", "x"}, 1, "/nonexistent/model.gguf"},
		{[]string{"logits", "-m", m, "--tokens", "1,x"}, 2, "x"},
		{[]string{"logits", "-m", m, "--tokens", "999999"}, 1, "999999"},
		{[]string{"ppl", "-m", m}, 2, "-f FILE"},
		{[]string{"tokenize", "-m", m}, 2, "-p TEXT"},
		{[]string{"graph", "-m", m, "--format", "png"}, 2, "png"},
		{[]string{"bench", "-m", m, "-t", "0"}, 2, "-t"},
		{[]string{"inspect"}, 2, "FILE"},
	}
	for _, c := range cases {
		code, _, errs := cli(c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("kiln %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), code, errs, c.code, c.want)
		}
	}
	for _, cmd := range commands {
		if code, _, errs := cli(cmd.name, "-h"); code != 0 {
			t.Errorf("kiln %s -h: exit %d %s", cmd.name, code, errs)
		}
	}
}
