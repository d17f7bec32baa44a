/* test_qgemm.c - the int8 GEMM tiles (kernels/qgemm.h) at every level this CPU runs equal the
 * plain reference bit for bit: random operands of awkward sizes (k, m, n not multiples of the
 * packing), the operands that saturate vpmaddubsw's int16 pair sums (activations 255 with weights
 * -128 and 127), and sums that wrap int32; plus the packing's layout and the family's dispatch. */
#include "core/cpu.h"
#include "kernels/isa.h"
#include "kernels/qgemm.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static unsigned next_u32(void)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(g_rng >> 33);
}

/* C of the kernel for `level` (packed operands) and of the reference agree on every value. */
static int same_as_ref(fv_isa level, int m, int n, int k, const int8_t *a, const uint8_t *b)
{
    int8_t *pa = malloc(fv_qg_a_bytes(m, k));
    uint8_t *pb = malloc(fv_qg_b_bytes(k, n));
    int32_t *c = malloc(sizeof(int32_t) * (size_t)m * (size_t)n);
    int32_t *r = malloc(sizeof(int32_t) * (size_t)m * (size_t)n);
    fv_qg_pack_a(a, m, k, k, pa);
    fv_qg_pack_b(b, k, n, n, 1, pb);
    fv_qgemm_s32(fv_qg_kernel_at(level), m, n, k, pa, pb, c, n);
    fv_qgemm_ref(m, n, k, a, k, b, n, r, n);
    int same = memcmp(c, r, sizeof(int32_t) * (size_t)m * (size_t)n) == 0;
    if (!same)
        fprintf(stderr, "level %s m %d n %d k %d differs\n", fv_isa_level_name(level), m, n, k);
    free(pa), free(pb), free(c), free(r);
    return same;
}

typedef enum { FILL_RANDOM, FILL_SATURATE, FILL_EXTREMES } fill_kind;

static void fill(fill_kind kind, int m, int n, int k, int8_t *a, uint8_t *b)
{
    for (int i = 0; i < m * k; i++) {
        unsigned u = next_u32();
        a[i] = kind == FILL_RANDOM     ? (int8_t)(int)(u % 256 - 128)
               : kind == FILL_SATURATE ? (int8_t)((i / k) % 2 ? 127 : -128)
                                       : (int8_t)(u % 2 ? 127 : -128);
    }
    for (int i = 0; i < k * n; i++) {
        unsigned u = next_u32();
        b[i] = kind == FILL_RANDOM ? (uint8_t)(u % 256) : kind == FILL_SATURATE ? 255
                                   : (uint8_t)(u % 3 == 0 ? 128 : u % 3 == 1 ? 255 : 127);
    }
}

static int all_levels_agree(fill_kind kind, int m, int n, int k)
{
    int8_t *a = malloc((size_t)m * (size_t)k);
    uint8_t *b = malloc((size_t)k * (size_t)n);
    fill(kind, m, n, k, a, b);
    int ok = 1, levels = 0;
    for (int l = 0; l < FV_ISA_COUNT; l++)
        if (fv_isa_supported((fv_isa)l)) {
            ok &= same_as_ref((fv_isa)l, m, n, k, a, b);
            levels++;
        }
    free(a), free(b);
    return ok && levels >= 1;
}

/* The reference itself on a hand-computed case: [1 -2; 127 -128] x [5 255; 7 200] (B unsigned). */
TEST(reference_by_hand)
{
    const int8_t a[] = {1, -2, 127, -128};
    const uint8_t b[] = {5, 255, 7, 200};
    int32_t c[4];
    fv_qgemm_ref(2, 2, 2, a, 2, b, 2, c, 2);
    CHECK(c[0] == 5 - 14 && c[1] == 255 - 400);
    CHECK(c[2] == 127 * 5 - 128 * 7 && c[3] == 127 * 255 - 128 * 200);
}

TEST(random_operands_every_level)
{
    const int sizes[][3] = {{1, 1, 1}, {8, 16, 4}, {7, 15, 3}, {9, 17, 5}, {13, 40, 75},
                            {32, 33, 288}, {3, 100, 576}, {64, 10, 1}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        CHECK(all_levels_agree(FILL_RANDOM, sizes[s][0], sizes[s][1], sizes[s][2]));
}

/* 255 * -128 + 255 * -128 = -65280 and 255 * 127 * 2 = 64770: far outside vpmaddubsw's int16, and
 * random mixes of the top-bit and 7-bit extremes. */
TEST(saturating_operands_every_level)
{
    CHECK(all_levels_agree(FILL_SATURATE, 8, 16, 64));
    CHECK(all_levels_agree(FILL_SATURATE, 5, 21, 7));
    CHECK(all_levels_agree(FILL_EXTREMES, 16, 48, 100));
    /* the exact value, not only agreement: row 0 all -128, k = 64 */
    int8_t a[8 * 64];
    uint8_t b[64 * 16];
    fill(FILL_SATURATE, 8, 16, 64, a, b);
    int8_t *pa = malloc(fv_qg_a_bytes(8, 64));
    uint8_t *pb = malloc(fv_qg_b_bytes(64, 16));
    int32_t c[8 * 16];
    fv_qg_pack_a(a, 8, 64, 64, pa);
    fv_qg_pack_b(b, 64, 16, 16, 1, pb);
    fv_qgemm_s32(fv_qg_kernel(), 8, 16, 64, pa, pb, c, 16);
    CHECK(c[0] == -128 * 255 * 64 && c[16] == 127 * 255 * 64);
    free(pa), free(pb);
}

/* k large enough that the sums leave int32: every level wraps the same way. */
TEST(wrapping_sums_every_level) { CHECK(all_levels_agree(FILL_SATURATE, 8, 16, 70000)); }

TEST(packing_layout)
{
    /* B element (r, j) sits at fv_qg_b_at; padding bytes are zero */
    uint8_t b[5 * 18], pb[2 * 16 * 8];
    for (int i = 0; i < 5 * 18; i++)
        b[i] = (uint8_t)(i + 1);
    CHECK(fv_qg_b_bytes(5, 18) == sizeof pb);
    fv_qg_pack_b(b, 5, 18, 18, 1, pb);
    for (int r = 0; r < 5; r++)
        for (int j = 0; j < 18; j++)
            CHECK(pb[fv_qg_b_at(5, r, j)] == b[r * 18 + j]);
    CHECK(pb[fv_qg_b_at(5, 6, 3)] == 0 && pb[fv_qg_b_at(5, 2, 20)] == 0);
    CHECK(fv_qg_k4(5) == 8 && fv_qg_k4(8) == 8 && fv_qg_a_bytes(9, 5) == 16 * 8);
}

/* The family follows the level in force (FOVEA_ISA, fv_isa_force): VNNI kernels at the VNNI
 * levels, the vpmaddubsw one at avx2 and avx512. */
TEST(dispatch_follows_the_level)
{
    fv_isa was = fv_isa_active();
    CHECK(fv_isa_force(FV_ISA_GENERIC));
    CHECK(fv_kernel_isa(FV_KF_QGEMM) == FV_ISA_GENERIC);
    if (fv_isa_force(FV_ISA_AVX512)) {
        CHECK(fv_kernel_isa(FV_KF_QGEMM) == FV_ISA_AVX2);
        CHECK(fv_qg_kernel() == fv_qg_kernel_at(FV_ISA_AVX2));
    }
    if (fv_isa_force(FV_ISA_AVX512_VNNI)) {
        CHECK(fv_kernel_isa(FV_KF_QGEMM) == FV_ISA_AVX512_VNNI);
        CHECK(fv_qg_kernel() == fv_qg_tile_avx512_vnni);
    }
    if (fv_isa_force(FV_ISA_AVX_VNNI))
        CHECK(fv_qg_kernel() == fv_qg_tile_avx_vnni);
    CHECK(fv_isa_force(was));
}

int main(void)
{
    RUN(reference_by_hand);
    RUN(random_operands_every_level);
    RUN(saturating_operands_every_level);
    RUN(wrapping_sums_every_level);
    RUN(packing_layout);
    RUN(dispatch_follows_the_level);
    TEST_MAIN_END();
}
