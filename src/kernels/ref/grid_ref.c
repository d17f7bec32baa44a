/* grid_ref.c - the grid helpers that are the same in every precision (the base grid, the TPS
 * system solved in double) and the float / double instances of grid_ref.inc. */
#include "kernels/ref/grid_ref.h"

#include <math.h>
#include <stdlib.h>

double fv_grid_base(int i, int n, int align)
{
    if (n <= 1)
        return 0.0;
    return align ? -1.0 + 2.0 * i / (n - 1) : -1.0 + (2.0 * i + 1.0) / n;
}

void fv_tps_control(int n, int j, double *x, double *y)
{
    *x = -1.0 + 2.0 * (j % n) / (n - 1);
    *y = -1.0 + 2.0 * (j / n) / (n - 1);
}

/* U(r) = r^2 log r^2 of the squared distance d2 (0 at 0). */
static double tps_u(double d2)
{
    return d2 > 0 ? d2 * log(d2) : 0.0;
}

/* Solves a x = b in place for s right-hand sides: a is q x q, b q x s (row-major, together in
 * one q x (q + s) array); -1 when a pivot vanishes. */
static int solve(int q, int s, double *ab)
{
    int w = q + s;
    for (int col = 0; col < q; col++) {
        int piv = col;
        for (int r = col + 1; r < q; r++)
            if (fabs(ab[r * w + col]) > fabs(ab[piv * w + col]))
                piv = r;
        if (!(fabs(ab[piv * w + col]) > 1e-12))
            return -1;
        for (int c = 0; piv != col && c < w; c++) {
            double t = ab[col * w + c];
            ab[col * w + c] = ab[piv * w + c], ab[piv * w + c] = t;
        }
        for (int r = 0; r < q; r++) {
            double f = ab[r * w + col] / ab[col * w + col];
            if (r == col || f == 0)
                continue;
            for (int c = col; c < w; c++)
                ab[r * w + c] -= f * ab[col * w + c];
        }
    }
    for (int r = 0; r < q; r++)
        for (int c = q; c < w; c++)
            ab[r * w + c] /= ab[r * w + r];
    return 0;
}

int fv_tps_matrix(int n, int oh, int ow, int align, double *m, double *work)
{
    if (n < 2)
        return -1;
    int k = n * n, q = k + 3, w = q + k;
    /* L = [[U(|c_i - c_j|), P], [P^T, 0]] with P_i = (1, x_i, y_i); right sides [I_k; 0] */
    for (int i = 0; i < q * w; i++)
        work[i] = 0;
    for (int i = 0; i < k; i++) {
        double xi, yi;
        fv_tps_control(n, i, &xi, &yi);
        for (int j = 0; j < k; j++) {
            double xj, yj;
            fv_tps_control(n, j, &xj, &yj);
            work[i * w + j] = tps_u((xi - xj) * (xi - xj) + (yi - yj) * (yi - yj));
        }
        double p[3] = {1.0, xi, yi};
        for (int c = 0; c < 3; c++)
            work[i * w + k + c] = work[(k + c) * w + i] = p[c];
        work[i * w + q + i] = 1.0;
    }
    if (solve(q, k, work) != 0)
        return -1;
    /* M[p][j] = sum_i B[p][i] A[i][j], B[p] = (U(|g_p - c_1|) ... U(|g_p - c_k|), 1, x, y) */
    for (int r = 0; r < oh; r++)
        for (int c = 0; c < ow; c++) {
            double gx = fv_grid_base(c, ow, align), gy = fv_grid_base(r, oh, align);
            double *row = m + ((int64_t)r * ow + c) * k;
            for (int j = 0; j < k; j++)
                row[j] = work[k * w + q + j] + gx * work[(k + 1) * w + q + j] +
                         gy * work[(k + 2) * w + q + j];
            for (int i = 0; i < k; i++) {
                double xi, yi;
                fv_tps_control(n, i, &xi, &yi);
                double u = tps_u((gx - xi) * (gx - xi) + (gy - yi) * (gy - yi));
                for (int j = 0; u != 0 && j < k; j++)
                    row[j] += u * work[i * w + q + j];
            }
        }
    return 0;
}

#define FV_REF_TEMPLATE "kernels/ref/grid_ref.inc"
#include "kernels/ref/instantiate.h"
