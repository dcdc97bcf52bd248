// K4SCALES unpacks the twelve bytes of packed 6-bit scales and mins of the
// Q4_K or Q5_K super-block at SI (bytes 4..15), as llama.cpp's
// get_scale_min_k4 through its utmp masks: Y5 holds the 8 scales, then the
// 8 mins, as int16. It clobbers AX, BX, DX, R8 and R9.
#define K4SCALES \
	MOVL 4(SI), AX \
	MOVL 8(SI), BX \
	MOVL 12(SI), DX \
	MOVL DX, R8 \
	SHRL $4, R8 \
	ANDL $0x0f0f0f0f, R8 \
	MOVL BX, R9 \
	SHRL $6, R9 \
	ANDL $0x03030303, R9 \
	SHLL $4, R9 \
	ORL R9, R8 \
	ANDL $0x0f0f0f0f, DX \
	MOVL AX, R9 \
	SHRL $6, R9 \
	ANDL $0x03030303, R9 \
	SHLL $4, R9 \
	ORL R9, DX \
	ANDL $0x3f3f3f3f, BX \
	ANDL $0x3f3f3f3f, AX \
	VMOVD AX, X5 \
	VPINSRD $1, DX, X5, X5 \
	VPINSRD $2, BX, X5, X5 \
	VPINSRD $3, R8, X5, X5 \
	VPMOVZXBW X5, Y5

// K4DMIN loads the fp16 [d, dmin] of the Q4_K or Q5_K super-block at
// SI, multiplied by the Q8_K block's scale at DI: Y3 = y.d·d and Y4 =
// y.d·dmin, broadcast (the callers subtract dmin's term with VFNMADD). It
// clobbers AX, X2.
#define K4DMIN \
	MOVL 0(SI), AX \
	VMOVD AX, X2 \
	VCVTPH2PS X2, X2 \
	VBROADCASTSS (DI), X3 \
	VMULPS X3, X2, X2 \
	VBROADCASTSS X2, Y3 \
	VMOVSHDUP X2, X4 \
	VBROADCASTSS X4, Y4
