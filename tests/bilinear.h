/* bilinear.h - the expected bilinear resize (half-pixel centres, edges clamped) of a 2x2 plane to
 * 4x4, worked out by hand: what the data set resize tests and the image folder tests that load at
 * another size compare with. */
#ifndef FV_TEST_BILINEAR_H
#define FV_TEST_BILINEAR_H

/* want = the 2x2 plane px (row-major) resized to 4x4 (row-major). */
static inline void t_bilinear_2x2_to_4x4(const float px[4], float want[16])
{
    /* output row or column k samples input coordinate (k + 0.5) / 2 - 0.5: -0.25, 0.25, 0.75,
     * 1.25, clamped to [0, 1] */
    const float wt[4][2] = {{1, 0}, {0.75f, 0.25f}, {0.25f, 0.75f}, {0, 1}};
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            want[y * 4 + x] = wt[y][0] * (wt[x][0] * px[0] + wt[x][1] * px[1]) +
                              wt[y][1] * (wt[x][0] * px[2] + wt[x][1] * px[3]);
}

#endif /* FV_TEST_BILINEAR_H */
