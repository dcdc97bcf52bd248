package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// VecDotType is the format llama.cpp's CPU backend converts activations to
// before a dot product with weights of type t (ggml's vec_dot_type):
// Q4_0, Q5_0, Q8_0 -> Q8_0; Q4_1, Q5_1 -> Q8_1; Q2_K..Q6_K -> Q8_K; F16,
// BF16 and F32 pair with themselves. Other types return t unchanged.
func VecDotType(t Type) Type {
	switch t {
	case Q4_0, Q5_0, Q8_0:
		return Q8_0
	case Q4_1, Q5_1:
		return Q8_1
	case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K:
		return Q8_K
	}
	return t
}

// Dequantize decodes len(dst) elements (a multiple of t.BlockSize()) from
// src into dst, exactly as ggml's dequantize_row_* (to_float) does. It
// supports F32, F16, BF16, the legacy and k-quant weight formats and the
// activation formats Q8_1 and Q8_K. src may be longer than needed.
func Dequantize(t Type, src []byte, dst []float32) error {
	n := len(dst)
	rb, err := t.RowBytes(n)
	if err != nil {
		return err
	}
	if len(src) < rb {
		return fmt.Errorf("dequantize %s: %d elements need %d bytes, have %d", t, n, rb, len(src))
	}
	src = src[:rb]
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = fp16Table[binary.LittleEndian.Uint16(src[2*i:])]
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToFP32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q4_0:
		dequantQ4_0(src, dst)
	case Q4_1:
		dequantQ4_1(src, dst)
	case Q5_0:
		dequantQ5_0(src, dst)
	case Q5_1:
		dequantQ5_1(src, dst)
	case Q8_0:
		dequantQ8_0(src, dst)
	case Q8_1:
		dequantQ8_1(src, dst)
	case Q2_K:
		dequantQ2K(src, dst)
	case Q3_K:
		dequantQ3K(src, dst)
	case Q4_K:
		dequantQ4K(src, dst)
	case Q5_K:
		dequantQ5K(src, dst)
	case Q6_K:
		dequantQ6K(src, dst)
	case Q8_K:
		dequantQ8K(src, dst)
	default:
		return fmt.Errorf("dequantize: unsupported type %s", t)
	}
	return nil
}

// Quantize encodes src (its length a multiple of t's block size) into
// dst[:t.RowBytes(len(src))]. F32, F16, BF16, Q8_0, Q8_1, Q8_K, Q4_0, Q4_1,
// Q5_0 and Q5_1 follow ggml's reference quantizers (quantize_row_*_ref,
// ggml_fp32_to_fp16/bf16) bit for bit; Q2_K..Q6_K port ggml's
// quantize_row_q*_K_ref (what llama-quantize does without an importance
// matrix). Quantize does not allocate, so the CPU runtime can quantize an
// activation row into a reused buffer with it.
func Quantize(t Type, src []float32, dst []byte) error {
	n := len(src)
	rb, err := t.RowBytes(n)
	if err != nil {
		return err
	}
	if len(dst) < rb {
		return fmt.Errorf("quantize %s: %d elements need %d bytes, have %d", t, n, rb, len(dst))
	}
	dst = dst[:rb]
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], FP32ToFP16(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], FP32ToBF16(v))
		}
	case Q4_0:
		quantQ4_0(src, dst)
	case Q4_1:
		quantQ4_1(src, dst)
	case Q5_0:
		quantQ5_0(src, dst)
	case Q5_1:
		quantQ5_1(src, dst)
	case Q8_0:
		quantQ8_0(src, dst)
	case Q8_1:
		quantQ8_1(src, dst)
	case Q8_K:
		quantQ8K(src, dst)
	case Q2_K:
		quantQ2K(src, dst)
	case Q3_K:
		quantQ3K(src, dst)
	case Q4_K:
		quantQ4K(src, dst)
	case Q5_K:
		quantQ5K(src, dst)
	case Q6_K:
		quantQ6K(src, dst)
	default:
		return fmt.Errorf("quantize: unsupported type %s", t)
	}
	return nil
}
