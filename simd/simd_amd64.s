//go:build amd64 && !purego && !noasm

#include "textflag.h"

// Batch distance kernels. See generic.go for the reference implementation.
//
// func xxxBatchYYY(q, rows *float32, n, stride, count int, out *float32)
//
// For each of count rows, starting stride floats apart from rows, write into
// out the score of the n-float query q against the row's first n floats.
// n >= 1; rows hold at least (count-1)*stride+n floats.
//
// Rows are taken four at a time: each block of the query is loaded once and
// multiplied into four rows, and two blocks are in flight per iteration so
// that eight independent accumulators hide the FMA latency. The last partial
// block is read with masked loads (AVX-512 opmask, AVX2 VMASKMOVPS), which
// never touch memory outside the lanes they load. Leftover rows (count mod
// 4) go one at a time through the same sequence of operations as a row of
// a group of four (two accumulators, even and odd blocks, summed the same
// way), so that a row's score is bit for bit the same wherever it sits in
// a batch, a batch of one included: the
// exact scan, the one-by-one scan of a selective filter and the IVF probes
// agree exactly.
//
// The AVX-512 kernel uses AVX512F instructions only (VPXORD, not VXORPS,
// which needs AVX512DQ on ZMM registers).
//
// Registers: SI query, DI row 0, AX/BX/R12 rows 1-3, R8 stride in bytes,
// R9 rows left, R10 out, DX byte offset in the row, CX loop counter,
// R11 block pairs per row, R13 16 or 0 (one more full block, AVX-512) or
// 8 or 0 (AVX2). BP, R14 and R15 are not used.

// Horizontal sums. HSUM4 leaves in X0 the four row totals of Z0..Z3
// (AVX-512) or Y0..Y3 (AVX2); HSUM1 leaves the total of Z0 or Y0 in X0.
#define FOLD512(z, y, x) \
	VEXTRACTF64X4 $1, z, Y8 \
	VADDPS        Y8, y, y  \
	VEXTRACTF128  $1, y, X8 \
	VADDPS        X8, x, x

#define FOLD256(y, x) \
	VEXTRACTF128 $1, y, X8 \
	VADDPS       X8, x, x

#define HADD4 \
	VHADDPS X1, X0, X0 \
	VHADDPS X3, X2, X2 \
	VHADDPS X2, X0, X0

#define HADD1 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// The per-block operations: DOT accumulates q*row, L2 accumulates
// (q-row)^2 through a scratch register.
#define DOT512(mem, qz, acc, tmp) \
	VFMADD231PS mem, qz, acc

#define L2_512(mem, qz, acc, tmp) \
	VSUBPS      mem, qz, tmp \
	VFMADD231PS tmp, tmp, acc

#define DOT256(mem, qy, acc, tmp) \
	VFMADD231PS mem, qy, acc

#define L2_256(mem, qy, acc, tmp) \
	VSUBPS      mem, qy, tmp \
	VFMADD231PS tmp, tmp, acc

// Single pairs: one row, four accumulators over four blocks, so that a
// long pair keeps four FMA chains in flight (the batch kernels' per-row
// sequence has two, to fit four rows in the registers, which made a lone
// 768-float pair 1.6x slower). Their results may differ from the batch
// kernels' in the last bits; the search paths use the batch kernels only.
//
// func xxxPairYYY(a, b *float32, n int) float32, n >= 1

#define PAIR512(OP)                           \
	MOVQ a+0(FP), SI                      \
	MOVQ b+8(FP), DI                      \
	MOVQ n+16(FP), BX                     \
	MOVQ BX, CX                           \
	ANDQ $15, CX                          \
	MOVL $1, AX                           \
	SHLL CX, AX                           \
	DECL AX                               \
	KMOVW AX, K1                          \
	VPXORD Z0, Z0, Z0                     \
	VPXORD Z1, Z1, Z1                     \
	VPXORD Z2, Z2, Z2                     \
	VPXORD Z3, Z3, Z3                     \
	XORQ DX, DX                           \
	MOVQ BX, CX                           \
	SHRQ $6, CX                           \
	TESTQ CX, CX                          \
	JZ    blocks1                         \
quad1:                                        \
	VMOVUPS (SI)(DX*1), Z8                \
	VMOVUPS 64(SI)(DX*1), Z9              \
	VMOVUPS 128(SI)(DX*1), Z16            \
	VMOVUPS 192(SI)(DX*1), Z17            \
	OP((DI)(DX*1), Z8, Z0, Z10)           \
	OP(64(DI)(DX*1), Z9, Z1, Z11)         \
	OP(128(DI)(DX*1), Z16, Z2, Z12)       \
	OP(192(DI)(DX*1), Z17, Z3, Z13)       \
	ADDQ $256, DX                         \
	DECQ CX                               \
	JNZ  quad1                            \
blocks1:                                      \
	MOVQ BX, CX                           \
	ANDQ $63, CX                          \
	SHRQ $4, CX                           \
	TESTQ CX, CX                          \
	JZ    tail1                           \
block1:                                       \
	VMOVUPS (SI)(DX*1), Z8                \
	OP((DI)(DX*1), Z8, Z0, Z10)           \
	ADDQ $64, DX                          \
	DECQ CX                               \
	JNZ  block1                           \
tail1:                                        \
	KORTESTW K1, K1                       \
	JZ       sum1                         \
	VMOVUPS.Z (SI)(DX*1), K1, Z8          \
	VMOVUPS.Z (DI)(DX*1), K1, Z16         \
	OP(Z16, Z8, Z1, Z10)                  \
sum1:                                         \
	VADDPS Z1, Z0, Z0                     \
	VADDPS Z3, Z2, Z2                     \
	VADDPS Z2, Z0, Z0                     \
	FOLD512(Z0, Y0, X0)                   \
	HADD1                                 \
	VMOVSS X0, ret+24(FP)                 \
	VZEROUPPER                            \
	RET

#define PAIR256(OP)                           \
	MOVQ a+0(FP), SI                      \
	MOVQ b+8(FP), DI                      \
	MOVQ n+16(FP), BX                     \
	MOVQ BX, CX                           \
	ANDQ $7, CX                           \
	NEGQ CX                               \
	ADDQ $8, CX                           \
	LEAQ maskTable<>(SB), AX              \
	VMOVUPS (AX)(CX*4), Y14               \
	VXORPS Y0, Y0, Y0                     \
	VXORPS Y1, Y1, Y1                     \
	VXORPS Y2, Y2, Y2                     \
	VXORPS Y3, Y3, Y3                     \
	XORQ DX, DX                           \
	MOVQ BX, CX                           \
	SHRQ $5, CX                           \
	TESTQ CX, CX                          \
	JZ    blocks1                         \
quad1:                                        \
	VMOVUPS (SI)(DX*1), Y8                \
	VMOVUPS 32(SI)(DX*1), Y9              \
	VMOVUPS 64(SI)(DX*1), Y12             \
	VMOVUPS 96(SI)(DX*1), Y13             \
	OP((DI)(DX*1), Y8, Y0, Y10)           \
	OP(32(DI)(DX*1), Y9, Y1, Y11)         \
	OP(64(DI)(DX*1), Y12, Y2, Y10)        \
	OP(96(DI)(DX*1), Y13, Y3, Y11)        \
	ADDQ $128, DX                         \
	DECQ CX                               \
	JNZ  quad1                            \
blocks1:                                      \
	MOVQ BX, CX                           \
	ANDQ $31, CX                          \
	SHRQ $3, CX                           \
	TESTQ CX, CX                          \
	JZ    tail1                           \
block1:                                       \
	VMOVUPS (SI)(DX*1), Y8                \
	OP((DI)(DX*1), Y8, Y0, Y10)           \
	ADDQ $32, DX                          \
	DECQ CX                               \
	JNZ  block1                           \
tail1:                                        \
	VPTEST Y14, Y14                       \
	JZ     sum1                           \
	VMASKMOVPS (SI)(DX*1), Y14, Y8        \
	VMASKMOVPS (DI)(DX*1), Y14, Y9        \
	OP(Y9, Y8, Y1, Y10)                   \
sum1:                                         \
	VADDPS Y1, Y0, Y0                     \
	VADDPS Y3, Y2, Y2                     \
	VADDPS Y2, Y0, Y0                     \
	FOLD256(Y0, X0)                       \
	HADD1                                 \
	VMOVSS X0, ret+24(FP)                 \
	VZEROUPPER                            \
	RET

// BATCH512 is the whole AVX-512 kernel for one per-block operation OP.
#define BATCH512(OP) \
	MOVQ q+0(FP), SI                              \
	MOVQ rows+8(FP), DI                           \
	MOVQ n+16(FP), DX                             \
	MOVQ stride+24(FP), R8                        \
	SHLQ $2, R8                                   \
	MOVQ count+32(FP), R9                         \
	MOVQ out+40(FP), R10                          \
	MOVQ DX, CX                                   \
	ANDQ $15, CX                                  \
	MOVL $1, AX                                   \
	SHLL CX, AX                                   \
	DECL AX                                       \
	KMOVW AX, K1                                  \
	MOVQ DX, R11                                  \
	SHRQ $5, R11                                  \
	MOVQ DX, R13                                  \
	ANDQ $16, R13                                 \
rows4:                                            \
	CMPQ R9, $4                                   \
	JLT  rows1                                    \
	LEAQ (DI)(R8*1), AX                           \
	LEAQ (AX)(R8*1), BX                           \
	LEAQ (BX)(R8*1), R12                          \
	VPXORD Z0, Z0, Z0                             \
	VPXORD Z1, Z1, Z1                             \
	VPXORD Z2, Z2, Z2                             \
	VPXORD Z3, Z3, Z3                             \
	VPXORD Z4, Z4, Z4                             \
	VPXORD Z5, Z5, Z5                             \
	VPXORD Z6, Z6, Z6                             \
	VPXORD Z7, Z7, Z7                             \
	XORQ DX, DX                                   \
	MOVQ R11, CX                                  \
	TESTQ CX, CX                                  \
	JZ    single4                                 \
pair4:                                            \
	VMOVUPS (SI)(DX*1), Z8                        \
	VMOVUPS 64(SI)(DX*1), Z9                      \
	OP((DI)(DX*1), Z8, Z0, Z10)                   \
	OP((AX)(DX*1), Z8, Z1, Z11)                   \
	OP((BX)(DX*1), Z8, Z2, Z12)                   \
	OP((R12)(DX*1), Z8, Z3, Z13)                  \
	OP(64(DI)(DX*1), Z9, Z4, Z16)                 \
	OP(64(AX)(DX*1), Z9, Z5, Z17)                 \
	OP(64(BX)(DX*1), Z9, Z6, Z18)                 \
	OP(64(R12)(DX*1), Z9, Z7, Z19)                \
	ADDQ $128, DX                                 \
	DECQ CX                                       \
	JNZ  pair4                                    \
single4:                                          \
	TESTQ R13, R13                                \
	JZ    tail4                                   \
	VMOVUPS (SI)(DX*1), Z8                        \
	OP((DI)(DX*1), Z8, Z0, Z10)                   \
	OP((AX)(DX*1), Z8, Z1, Z11)                   \
	OP((BX)(DX*1), Z8, Z2, Z12)                   \
	OP((R12)(DX*1), Z8, Z3, Z13)                  \
	ADDQ $64, DX                                  \
tail4:                                            \
	KORTESTW K1, K1                               \
	JZ       sum4                                 \
	VMOVUPS.Z (SI)(DX*1), K1, Z8                  \
	VMOVUPS.Z (DI)(DX*1), K1, Z16                 \
	VMOVUPS.Z (AX)(DX*1), K1, Z17                 \
	VMOVUPS.Z (BX)(DX*1), K1, Z18                 \
	VMOVUPS.Z (R12)(DX*1), K1, Z19                \
	OP(Z16, Z8, Z4, Z10)                          \
	OP(Z17, Z8, Z5, Z11)                          \
	OP(Z18, Z8, Z6, Z12)                          \
	OP(Z19, Z8, Z7, Z13)                          \
sum4:                                             \
	VADDPS Z4, Z0, Z0                             \
	VADDPS Z5, Z1, Z1                             \
	VADDPS Z6, Z2, Z2                             \
	VADDPS Z7, Z3, Z3                             \
	FOLD512(Z0, Y0, X0)                           \
	FOLD512(Z1, Y1, X1)                           \
	FOLD512(Z2, Y2, X2)                           \
	FOLD512(Z3, Y3, X3)                           \
	HADD4                                         \
	VMOVUPS X0, (R10)                             \
	ADDQ $16, R10                                 \
	LEAQ (R12)(R8*1), DI                          \
	SUBQ $4, R9                                   \
	JMP  rows4                                    \
rows1:                                        \
	TESTQ R9, R9                                 \
	JZ    done                                   \
	VPXORD Z0, Z0, Z0                            \
	VPXORD Z1, Z1, Z1                            \
	XORQ DX, DX                                  \
	MOVQ R11, CX                                 \
	TESTQ CX, CX                                 \
	JZ    single1                                \
pair1:                                        \
	VMOVUPS (SI)(DX*1), Z8                       \
	VMOVUPS 64(SI)(DX*1), Z9                     \
	OP((DI)(DX*1), Z8, Z0, Z10)                  \
	OP(64(DI)(DX*1), Z9, Z1, Z11)                \
	ADDQ $128, DX                                \
	DECQ CX                                      \
	JNZ  pair1                                   \
single1:                                      \
	TESTQ R13, R13                               \
	JZ    tail1                                  \
	VMOVUPS (SI)(DX*1), Z8                       \
	OP((DI)(DX*1), Z8, Z0, Z10)                  \
	ADDQ $64, DX                                 \
tail1:                                        \
	KORTESTW K1, K1                              \
	JZ       sum1                                \
	VMOVUPS.Z (SI)(DX*1), K1, Z8                 \
	VMOVUPS.Z (DI)(DX*1), K1, Z16                \
	OP(Z16, Z8, Z1, Z10)                         \
sum1:                                         \
	VADDPS Z1, Z0, Z0                            \
	FOLD512(Z0, Y0, X0)                          \
	HADD1                                        \
	VMOVSS X0, (R10)                             \
	ADDQ $4, R10                                 \
	ADDQ R8, DI                                  \
	DECQ R9                                      \
	JMP  rows1                                   \
	done:                                             \
	VZEROUPPER                                    \
	RET

// func dotBatchAVX512(q, rows *float32, n, stride, count int, out *float32)
TEXT ·dotBatchAVX512(SB), NOSPLIT, $0-48
	BATCH512(DOT512)

// func l2BatchAVX512(q, rows *float32, n, stride, count int, out *float32)
TEXT ·l2BatchAVX512(SB), NOSPLIT, $0-48
	BATCH512(L2_512)

// maskTable: eight all-ones lanes, then eight zero lanes. The 8 lanes
// starting at lane 8-r select the first r lanes: VMASKMOVPS's mask for a
// partial block of r floats.
DATA maskTable<>+0(SB)/4, $0xffffffff
DATA maskTable<>+4(SB)/4, $0xffffffff
DATA maskTable<>+8(SB)/4, $0xffffffff
DATA maskTable<>+12(SB)/4, $0xffffffff
DATA maskTable<>+16(SB)/4, $0xffffffff
DATA maskTable<>+20(SB)/4, $0xffffffff
DATA maskTable<>+24(SB)/4, $0xffffffff
DATA maskTable<>+28(SB)/4, $0xffffffff
DATA maskTable<>+32(SB)/4, $0
DATA maskTable<>+36(SB)/4, $0
DATA maskTable<>+40(SB)/4, $0
DATA maskTable<>+44(SB)/4, $0
DATA maskTable<>+48(SB)/4, $0
DATA maskTable<>+52(SB)/4, $0
DATA maskTable<>+56(SB)/4, $0
DATA maskTable<>+60(SB)/4, $0
GLOBL maskTable<>(SB), RODATA|NOPTR, $64

// BATCH256 is the whole AVX2 kernel for one per-block operation OP. Y14
// holds the tail mask (all zero when n is a multiple of 8); R13 is 8 when
// one more full block follows the pairs.
#define BATCH256(OP) \
	MOVQ q+0(FP), SI                              \
	MOVQ rows+8(FP), DI                           \
	MOVQ n+16(FP), DX                             \
	MOVQ stride+24(FP), R8                        \
	SHLQ $2, R8                                   \
	MOVQ count+32(FP), R9                         \
	MOVQ out+40(FP), R10                          \
	MOVQ DX, CX                                   \
	ANDQ $7, CX                                   \
	NEGQ CX                                       \
	ADDQ $8, CX                                   \
	LEAQ maskTable<>(SB), AX                      \
	VMOVUPS (AX)(CX*4), Y14                       \
	MOVQ DX, R11                                  \
	SHRQ $4, R11                                  \
	MOVQ DX, R13                                  \
	ANDQ $8, R13                                  \
rows4:                                            \
	CMPQ R9, $4                                   \
	JLT  rows1                                    \
	LEAQ (DI)(R8*1), AX                           \
	LEAQ (AX)(R8*1), BX                           \
	LEAQ (BX)(R8*1), R12                          \
	VXORPS Y0, Y0, Y0                             \
	VXORPS Y1, Y1, Y1                             \
	VXORPS Y2, Y2, Y2                             \
	VXORPS Y3, Y3, Y3                             \
	VXORPS Y4, Y4, Y4                             \
	VXORPS Y5, Y5, Y5                             \
	VXORPS Y6, Y6, Y6                             \
	VXORPS Y7, Y7, Y7                             \
	XORQ DX, DX                                   \
	MOVQ R11, CX                                  \
	TESTQ CX, CX                                  \
	JZ    single4                                 \
pair4:                                            \
	VMOVUPS (SI)(DX*1), Y8                        \
	VMOVUPS 32(SI)(DX*1), Y9                      \
	OP((DI)(DX*1), Y8, Y0, Y10)                   \
	OP((AX)(DX*1), Y8, Y1, Y11)                   \
	OP((BX)(DX*1), Y8, Y2, Y12)                   \
	OP((R12)(DX*1), Y8, Y3, Y13)                  \
	OP(32(DI)(DX*1), Y9, Y4, Y10)                 \
	OP(32(AX)(DX*1), Y9, Y5, Y11)                 \
	OP(32(BX)(DX*1), Y9, Y6, Y12)                 \
	OP(32(R12)(DX*1), Y9, Y7, Y13)                \
	ADDQ $64, DX                                  \
	DECQ CX                                       \
	JNZ  pair4                                    \
single4:                                          \
	TESTQ R13, R13                                \
	JZ    tail4                                   \
	VMOVUPS (SI)(DX*1), Y8                        \
	OP((DI)(DX*1), Y8, Y0, Y10)                   \
	OP((AX)(DX*1), Y8, Y1, Y11)                   \
	OP((BX)(DX*1), Y8, Y2, Y12)                   \
	OP((R12)(DX*1), Y8, Y3, Y13)                  \
	ADDQ $32, DX                                  \
tail4:                                            \
	VPTEST Y14, Y14                               \
	JZ     sum4                                   \
	VMASKMOVPS (SI)(DX*1), Y14, Y8                \
	VMASKMOVPS (DI)(DX*1), Y14, Y9                \
	OP(Y9, Y8, Y4, Y10)                           \
	VMASKMOVPS (AX)(DX*1), Y14, Y9                \
	OP(Y9, Y8, Y5, Y11)                           \
	VMASKMOVPS (BX)(DX*1), Y14, Y9                \
	OP(Y9, Y8, Y6, Y12)                           \
	VMASKMOVPS (R12)(DX*1), Y14, Y9               \
	OP(Y9, Y8, Y7, Y13)                           \
sum4:                                             \
	VADDPS Y4, Y0, Y0                             \
	VADDPS Y5, Y1, Y1                             \
	VADDPS Y6, Y2, Y2                             \
	VADDPS Y7, Y3, Y3                             \
	FOLD256(Y0, X0)                               \
	FOLD256(Y1, X1)                               \
	FOLD256(Y2, X2)                               \
	FOLD256(Y3, X3)                               \
	HADD4                                         \
	VMOVUPS X0, (R10)                             \
	ADDQ $16, R10                                 \
	LEAQ (R12)(R8*1), DI                          \
	SUBQ $4, R9                                   \
	JMP  rows4                                    \
rows1:                                        \
	TESTQ R9, R9                                 \
	JZ    done                                   \
	VXORPS Y0, Y0, Y0                            \
	VXORPS Y1, Y1, Y1                            \
	XORQ DX, DX                                  \
	MOVQ R11, CX                                 \
	TESTQ CX, CX                                 \
	JZ    single1                                \
pair1:                                        \
	VMOVUPS (SI)(DX*1), Y8                       \
	VMOVUPS 32(SI)(DX*1), Y9                     \
	OP((DI)(DX*1), Y8, Y0, Y10)                  \
	OP(32(DI)(DX*1), Y9, Y1, Y11)                \
	ADDQ $64, DX                                 \
	DECQ CX                                      \
	JNZ  pair1                                   \
single1:                                      \
	TESTQ R13, R13                               \
	JZ    tail1                                  \
	VMOVUPS (SI)(DX*1), Y8                       \
	OP((DI)(DX*1), Y8, Y0, Y10)                  \
	ADDQ $32, DX                                 \
tail1:                                        \
	VPTEST Y14, Y14                              \
	JZ     sum1                                  \
	VMASKMOVPS (SI)(DX*1), Y14, Y8               \
	VMASKMOVPS (DI)(DX*1), Y14, Y9               \
	OP(Y9, Y8, Y1, Y10)                          \
sum1:                                         \
	VADDPS Y1, Y0, Y0                            \
	FOLD256(Y0, X0)                              \
	HADD1                                        \
	VMOVSS X0, (R10)                             \
	ADDQ $4, R10                                 \
	ADDQ R8, DI                                  \
	DECQ R9                                      \
	JMP  rows1                                   \
	done:                                             \
	VZEROUPPER                                    \
	RET

// func dotBatchAVX2(q, rows *float32, n, stride, count int, out *float32)
TEXT ·dotBatchAVX2(SB), NOSPLIT, $0-48
	BATCH256(DOT256)

// func l2BatchAVX2(q, rows *float32, n, stride, count int, out *float32)
TEXT ·l2BatchAVX2(SB), NOSPLIT, $0-48
	BATCH256(L2_256)

// func dotPairAVX512(a, b *float32, n int) float32
TEXT ·dotPairAVX512(SB), NOSPLIT, $0-28
	PAIR512(DOT512)

// func l2PairAVX512(a, b *float32, n int) float32
TEXT ·l2PairAVX512(SB), NOSPLIT, $0-28
	PAIR512(L2_512)

// func dotPairAVX2(a, b *float32, n int) float32
TEXT ·dotPairAVX2(SB), NOSPLIT, $0-28
	PAIR256(DOT256)

// func l2PairAVX2(a, b *float32, n int) float32
TEXT ·l2PairAVX2(SB), NOSPLIT, $0-28
	PAIR256(L2_256)
