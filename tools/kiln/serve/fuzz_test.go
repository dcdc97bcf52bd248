package serve

import (
	"errors"
	"strings"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary bodies to the request decoder of both
// endpoints: it must return a request or an errBadRequest, never panic, and
// whatever it accepts must be within the limits the server relies on.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","prompt":"Once upon a time","max_tokens":20,"temperature":0}`,
		`{"prompt":["x"],"stream":true,"stop":["\n","END"],"top_p":0.9,"top_k":40,"min_p":0.05,"seed":1,"n":1}`,
		`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_completion_tokens":5}`,
		`{"messages":[{"role":"assistant","content":null}],"stop":"x","repeat_penalty":1.1,"repeat_last_n":64}`,
		`{"prompt":"x"} trailing`, `{"prompt": 1e999}`, `{"max_tokens": 1.5}`, `[]`, `null`, ``, `{"prompt":"\ud800"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, chatMode bool) {
		req, err := decodeRequest(strings.NewReader(string(body)), chatMode)
		if err != nil {
			if !errors.Is(err, errBadRequest) {
				t.Fatalf("error %v does not mark a bad request", err)
			}
			if req != nil {
				t.Fatal("a request with an error")
			}
			return
		}
		if chatMode && len(req.Messages) == 0 || !chatMode && len(req.Messages) != 0 {
			t.Fatalf("chat %v with %d messages", chatMode, len(req.Messages))
		}
		for _, m := range req.Messages {
			if m.Role == "" || len(m.Role) > maxRoleLength {
				t.Fatalf("role %q accepted", m.Role)
			}
		}
		if req.MaxTokens < 0 || req.MaxTokens > maxTokensCap {
			t.Fatalf("max_tokens %d accepted", req.MaxTokens)
		}
		s := req.Sampler
		if !(s.Temp >= 0 && s.Temp <= 100) || !(s.TopP >= 0 && s.TopP <= 1) || !(s.MinP >= 0 && s.MinP <= 1) ||
			!(s.RepeatPenalty > 0 && s.RepeatPenalty <= 100) || s.TopK < 0 || s.RepeatLastN < 0 || s.RepeatLastN > maxTokensCap {
			t.Fatalf("sampler %+v accepted", s)
		}
		if len(req.Stop) > maxStops {
			t.Fatalf("%d stops accepted", len(req.Stop))
		}
		for _, stop := range req.Stop {
			if stop == "" || len(stop) > maxStopLen {
				t.Fatalf("stop %q accepted", stop)
			}
		}
	})
}
