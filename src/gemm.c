/* Single-precision matrix multiply, row major:
 *   C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C
 * Portable loops ordered so the innermost one runs over contiguous memory
 * and the compiler can vectorise it. */
#include "internal.h"

static void scale_c(int m, int n, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < n; j++)
                row[j] = 0.0f;
        else if (beta != 1.0f)
            for (int j = 0; j < n; j++)
                row[j] *= beta;
    }
}

void nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta,
              float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    scale_c(m, n, beta, c, ldc);
    if (k <= 0 || alpha == 0.0f)
        return;
    if (!trans_a && !trans_b) {
        /* C[i,:] += alpha A[i,p] B[p,:] */
        for (int i = 0; i < m; i++) {
            float *crow = c + (size_t)i * ldc;
            for (int p = 0; p < k; p++) {
                float s = alpha * a[(size_t)i * lda + p];
                const float *brow = b + (size_t)p * ldb;
                for (int j = 0; j < n; j++)
                    crow[j] += s * brow[j];
            }
        }
    } else if (!trans_a && trans_b) {
        /* C[i,j] += alpha dot(A[i,:], B[j,:]) */
        for (int i = 0; i < m; i++) {
            const float *arow = a + (size_t)i * lda;
            for (int j = 0; j < n; j++) {
                const float *brow = b + (size_t)j * ldb;
                float sum = 0.0f;
                for (int p = 0; p < k; p++)
                    sum += arow[p] * brow[p];
                c[(size_t)i * ldc + j] += alpha * sum;
            }
        }
    } else if (trans_a && !trans_b) {
        /* C[i,:] += alpha A[p,i] B[p,:] */
        for (int i = 0; i < m; i++) {
            float *crow = c + (size_t)i * ldc;
            for (int p = 0; p < k; p++) {
                float s = alpha * a[(size_t)p * lda + i];
                const float *brow = b + (size_t)p * ldb;
                for (int j = 0; j < n; j++)
                    crow[j] += s * brow[j];
            }
        }
    } else {
        /* C[i,j] += alpha sum_p A[p,i] B[j,p] */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float sum = 0.0f;
                for (int p = 0; p < k; p++)
                    sum += a[(size_t)p * lda + i] * b[(size_t)j * ldb + p];
                c[(size_t)i * ldc + j] += alpha * sum;
            }
    }
}
