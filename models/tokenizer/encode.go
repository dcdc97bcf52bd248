package tokenizer

// EncodeOptions are llama_tokenize's two flags.
type EncodeOptions struct {
	// AddBOS adds the tokens the vocabulary asks for around a prompt: BOS
	// when Vocab.AddBOS, EOS when Vocab.AddEOS (llama.cpp's add_special).
	AddBOS bool
	// ParseSpecial turns special-token text in the input ("<|im_end|>")
	// into the special token. Without it only user-defined tokens are
	// recognized and control-token text is tokenized as plain text.
	ParseSpecial bool
}

// Encode tokenizes text as llama_tokenize does.
func (t *Tokenizer) Encode(text string, opt EncodeOptions) ([]int32, error) {
	frags := t.partition(text, opt.ParseSpecial)
	out := make([]int32, 0, len(text)/3+2)
	if opt.AddBOS && t.addBOS {
		out = append(out, t.bos)
	}
	var err error
	switch t.model {
	case modelSPM:
		// The space prefix goes before the first text and before text
		// that follows a special token, with or without BOS.
		prevSpecial := true
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				prevSpecial = true
				continue
			}
			s := text[f.off : f.off+f.n]
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			if out, err = t.spmEncode(escapeSpaces(s), out); err != nil {
				return nil, err
			}
			prevSpecial = false
		}
	case modelBPE:
		var st bpeState
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				continue
			}
			if out, err = t.bpeEncode(text[f.off:f.off+f.n], out, &st); err != nil {
				return nil, err
			}
		}
	}
	if opt.AddBOS && t.addEOS {
		out = append(out, t.eos)
	}
	return out, nil
}
