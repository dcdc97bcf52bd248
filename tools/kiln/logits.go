package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kiln-ml/kiln"
)

// logitsReport has the fields of ../shared/reference/logits files.
type logitsReport struct {
	Model          string         `json:"model"`
	NVocab         int            `json:"n_vocab"`
	NTokens        int            `json:"n_tokens"`
	Tokens         []int32        `json:"tokens"`
	LogitsFirstPos int            `json:"logits_first_pos"`
	Logits         [][]float32    `json:"logits"`
	Argmax         []int32        `json:"argmax"`
	Top10          [][][2]float64 `json:"top10"`
	Logsumexp      []float64      `json:"logsumexp"`
	NextLogprob    []float64      `json:"next_logprob"`
	MeanNLL        float64        `json:"mean_nll"`
	PPL            float64        `json:"ppl"`
}

func cmdLogits(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("logits", stderr)
	var mf modelFlags
	mf.register(fs)
	toks := fs.String("tokens", "", "comma-separated token ids, evaluated from position 0 (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	ids, err := parseIDs(*toks)
	if err != nil {
		return err
	}
	if mf.ctx == 0 {
		mf.ctx = max(len(ids), 1)
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	s, err := m.NewSession()
	if err != nil {
		return err
	}
	all, err := s.Eval(ids, true)
	if err != nil {
		return err
	}
	nv := m.Hyper().NVocab
	r := logitsReport{Model: mf.path, NVocab: nv, NTokens: len(ids), Tokens: ids}
	if len(ids) > 16 {
		r.LogitsFirstPos = len(ids) - 8
	}
	var nll float64
	for i := range ids {
		row := all[i*nv : (i+1)*nv]
		if i >= r.LogitsFirstPos {
			r.Logits = append(r.Logits, slices.Clone(row))
		}
		r.Argmax = append(r.Argmax, kiln.Argmax(row))
		r.Top10 = append(r.Top10, top10(row))
		_, lse := kiln.LogSoftmaxAt(row, 0)
		r.Logsumexp = append(r.Logsumexp, lse)
		if i+1 < len(ids) {
			lp, _ := kiln.LogSoftmaxAt(row, ids[i+1])
			r.NextLogprob = append(r.NextLogprob, lp)
			nll -= lp
		}
	}
	if len(ids) > 1 {
		r.MeanNLL = nll / float64(len(ids)-1)
		r.PPL = math.Exp(r.MeanNLL)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(r)
	}
	for i := range ids {
		fmt.Fprintf(stdout, "pos %3d token %6d -> argmax %6d", i, ids[i], r.Argmax[i])
		if i+1 < len(ids) {
			fmt.Fprintf(stdout, "  logp(next)=%.4f", r.NextLogprob[i])
		}
		fmt.Fprintln(stdout)
	}
	if len(ids) > 1 {
		fmt.Fprintf(stdout, "mean NLL %.6f, ppl %.4f\n", r.MeanNLL, r.PPL)
	}
	return nil
}

func top10(row []float32) [][2]float64 {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if row[a] > row[b] {
			return -1
		}
		if row[a] < row[b] {
			return 1
		}
		return 0
	})
	var r [][2]float64
	for _, i := range idx[:min(10, len(idx))] {
		r = append(r, [2]float64{float64(i), float64(row[i])})
	}
	return r
}

func parseIDs(s string) ([]int32, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: --tokens is required (e.g. --tokens 1,2,3)", errUsage)
	}
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: --tokens: %q is not a token id", errUsage, f)
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}
