/* Single-precision matrix multiply, row major:
 *   C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C
 *
 * Blocking scheme (Goto and van de Geijn, "Anatomy of high-performance
 * matrix multiplication", 2008; the loop nest of BLIS):
 *
 *   for jc over the columns of C in blocks of nc
 *     for pc over k in blocks of kc <= GEMM_KC
 *       pack op(B)[pc:+kc, jc:+nc] into NR-wide panels   (B block, L2)
 *       for ic over the rows of C in blocks of mc
 *         A block = op(A)[ic:+mc, pc:+kc], packed into MR-tall panels
 *                   only when A is transposed (see below)
 *         for ir over the block's rows in steps of MR    (A panel, L1)
 *           for jr over the block's columns in steps of NR (B panel, L2)
 *             micro-kernel: C[ir:+MR, jr:+NR] = alpha A panel B panel + beta C
 *
 * Packing copies a block once into the order the micro-kernel reads it:
 * panel after panel, and inside a panel one k step after the other (NR
 * values of op(B), or MR values of op(A), side by side), so the kernel
 * walks it with unit stride whatever the transposes and ldb were. Panels
 * cut by the edge of the matrix are padded with zeros; the kernel writes
 * only the valid rows and columns of its tile.
 *
 * The micro-kernel (MR x NR: 6 x 16 with AVX2) keeps its tile of C in
 * registers for the whole k loop: per k step it loads NR values of the B
 * panel, broadcasts the MR values of the A panel (one per row) and does
 * MR*NR multiply-adds. The tile then becomes c = alpha*acc + beta*c.
 * Broadcasts can read A where it is: MR rows, each contiguous along k, are
 * MR streams that stay in L1 while the jr loop reuses them. So the AVX2
 * path reads op(A) = A in place and packs only op(A) = A^T (rows with
 * stride lda), which saves copying A once per jc block.
 *
 * Block sizes: kc splits k evenly into blocks of at most GEMM_KC; then nc
 * (and mc, when A is packed) are as large as the buffer allows for that
 * kc, split evenly too (784 in blocks of at most 256 gives 208+208+208+160
 * rather than 256+256+256+16).
 *
 * beta is applied by the first k block only (later ones add with beta 1),
 * and beta == 0 never reads C, so NaN or garbage there cannot propagate.
 * The blocking depends only on (m, n, k, trans_a) and the kernel, never on
 * addresses: a given path gives bit-identical results from call to call.
 *
 * One buffer on the stack holds the packed blocks (no allocation, no
 * shared state): GEMM_BUFFER_FLOATS = 65536 floats = 256 KiB, all of it
 * for the B block (kc x nc) when A is read in place, else half for the B
 * block and half for the A block (mc x kc).
 */
#include "compute/gemm.h"

#define GEMM_KC 256                   /* deepest k block */
#define GEMM_BUFFER_FLOATS (256 * 256) /* packed blocks: 256 KiB of stack */

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* Size of the blocks that split total evenly into blocks of at most max
 * (a multiple of unit), rounded up to a multiple of unit; the last block
 * may be smaller. */
static int block_size(int total, int max, int unit)
{
    int blocks = (total + max - 1) / max;
    int size = (total + blocks - 1) / blocks;
    return (size + unit - 1) / unit * unit;
}

/* C (m, n) = beta * C, where beta == 0 writes zeros without reading. */
static void scale_c(int m, int n, float beta, float *c, size_t ldc)
{
    for (int i = 0; i < m; i++) {
        float *row = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < n; j++)
                row[j] = 0.0f;
        else if (beta != 1.0f)
            for (int j = 0; j < n; j++)
                row[j] *= beta;
    }
}

/* Packs one panel: `lines` lines of `depth` values into dst (depth, panel),
 * the missing lines (lines <= w < panel) set to zero. */
static void pack_panel(const float *src, size_t w_step, size_t k_step,
                       int lines, int depth, int panel, float *dst)
{
    if (w_step == 1) {
        /* The panel's values for one k are contiguous in memory. */
        for (int p = 0; p < depth; p++) {
            const float *s = src + p * k_step;
            float *d = dst + (size_t)p * panel;
            for (int w = 0; w < lines; w++)
                d[w] = s[w];
            for (int w = lines; w < panel; w++)
                d[w] = 0.0f;
        }
    } else {
        /* Each line is contiguous along k: a transposing copy. */
        for (int w = 0; w < lines; w++) {
            const float *line = src + w * w_step;
            for (int p = 0; p < depth; p++)
                dst[(size_t)p * panel + w] = line[p * k_step];
        }
        for (int w = lines; w < panel; w++)
            for (int p = 0; p < depth; p++)
                dst[(size_t)p * panel + w] = 0.0f;
    }
}

void nn_gemm_pack_block(const float *src, size_t w_step, size_t k_step,
                        int width, int depth, int panel, float *dst)
{
    for (int w0 = 0; w0 < width; w0 += panel) {
        pack_panel(src + w0 * w_step, w_step, k_step,
                   min_int(panel, width - w0), depth, panel, dst);
        dst += (size_t)depth * panel;
    }
}

/* An A block where the kernel reads it: value (i, p) is at
 * data[(i / MR) * MR * panel_step + (i % MR) * row_step + p * k_step].
 * Read in place: data = &op(A)[ic, pc], panel_step = row_step = lda,
 * k_step = 1. Packed: panel_step = kc, row_step = 1, k_step = MR. */
typedef struct {
    const float *data;
    size_t panel_step, row_step, k_step;
} a_block_view;

/* C block (mc, nc) = alpha * A block * packed B block + beta * C: the two
 * innermost loops, over MR x NR tiles. */
static void macro_kernel(const nn_gemm_kernel *kernel, int mc, int nc, int kc,
                         const a_block_view *a, const float *packed_b,
                         float alpha, float beta, float *c, size_t ldc)
{
    int mr = kernel->mr, nr = kernel->nr;
    for (int ir = 0; ir < mc; ir += mr) {
        const float *a_panel = a->data + ir * a->panel_step; /* (MR, kc) */
        int rows = min_int(mr, mc - ir);
        for (int jr = 0; jr < nc; jr += nr) {
            const float *b_panel = packed_b + (size_t)jr * kc; /* (kc, NR) */
            kernel->run(kc, a_panel, a->row_step, a->k_step, b_panel, rows,
                        min_int(nr, nc - jr), c + ir * ldc + jr, ldc, alpha,
                        beta);
        }
    }
}

void nn_sgemm_blocked(const nn_gemm_kernel *kernel, int trans_a, int trans_b,
                      int m, int n, int k, float alpha, const float *a,
                      int lda, const float *b, int ldb, float beta, float *c,
                      int ldc)
{
    _Alignas(64) float buffer[GEMM_BUFFER_FLOATS];
    /* op(A)(i, p) = a[i * a_row + p * a_k]; op(B)(p, j) = b[j * b_col + p * b_k] */
    size_t a_row = trans_a ? 1 : (size_t)lda, a_k = trans_a ? (size_t)lda : 1;
    size_t b_col = trans_b ? (size_t)ldb : 1, b_k = trans_b ? 1 : (size_t)ldb;
    size_t c_row = (size_t)ldc;
    int mr = kernel->mr, nr = kernel->nr, mb, nb, kb;
    /* A is packed when transposed (or for a kernel that cannot read it in
     * place); then it gets half the buffer. */
    int pack_a = trans_a || !kernel->reads_a_in_place;
    int b_floats = pack_a ? GEMM_BUFFER_FLOATS / 2 : GEMM_BUFFER_FLOATS;
    float *packed_b = buffer;            /* (nc/NR, kc, NR) */
    float *packed_a = buffer + b_floats; /* (mc/MR, kc, MR) when pack_a */

    if (m <= 0 || n <= 0)
        return;
    if (k <= 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, c_row);
        return;
    }
    kb = block_size(k, GEMM_KC, 1);
    mb = pack_a ? block_size(m, b_floats / kb / mr * mr, mr) : m;
    nb = block_size(n, b_floats / kb / nr * nr, nr);
    for (int jc = 0; jc < n; jc += nb) {
        int nc = min_int(nb, n - jc);
        for (int pc = 0; pc < k; pc += kb) {
            int kc = min_int(kb, k - pc);
            float beta_block = pc == 0 ? beta : 1.0f;
            kernel->pack(b + jc * b_col + pc * b_k, b_col, b_k, nc, kc, nr,
                         packed_b);
            for (int ic = 0; ic < m; ic += mb) {
                int mc = min_int(mb, m - ic);
                const float *a_src = a + ic * a_row + pc * a_k;
                a_block_view view = {a_src, a_row, a_row, 1};
                if (pack_a) {
                    kernel->pack(a_src, a_row, a_k, mc, kc, mr, packed_a);
                    view = (a_block_view){packed_a, (size_t)kc, 1, (size_t)mr};
                }
                macro_kernel(kernel, mc, nc, kc, &view, packed_b, alpha,
                             beta_block, c + ic * c_row + jc, c_row);
            }
        }
    }
}

/* ----------------------------------------------- a tree of k shards */

/* Tiles a tree keeps while it is built: one per level of a binary counter
 * over fewer than 2^TREE_LEVELS shards (NN_SHARDS_MAX = 256). */
#define TREE_LEVELS NN_GEMM_TREE_LEVELS
#define TILE_MAX (8 * 32) /* floats of the largest MR x NR tile */

/* One tile of C += the tree of its shards' products. The products come
 * one after the other into `cur`, and a binary counter keeps the finished
 * subtrees: levels[l] holds one of 2^l shards when bit l of `filled` is
 * set. A new product is added to each waiting subtree of its own size (its
 * left neighbour in the pairwise tree) and moves up; at the end the
 * subtrees left are added from the smallest up, which is how the tree
 * carries an odd last one. */
static void tree_tile(const nn_gemm_kernel *kernel, const a_block_view *a,
                      const float *b_panel, const int *bounds, int shards,
                      int rows, int cols, float *c, size_t ldc)
{
    float levels[TREE_LEVELS][TILE_MAX], cur[TILE_MAX];
    int nr = kernel->nr, count = kernel->mr * nr, l;
    unsigned filled = 0;
    for (int i = 0; i < count; i++)
        cur[i] = 0.0f; /* the kernel writes only rows x cols of it */
    for (int s = 0; s < shards; s++) {
        int k0 = bounds[s] - bounds[0], kc = bounds[s + 1] - bounds[s];
        if (kc > 0)
            kernel->run(kc, a->data + k0 * a->k_step, a->row_step, a->k_step,
                        b_panel + (size_t)k0 * nr, rows, cols, cur,
                        (size_t)nr, 1.0f, 0.0f);
        else
            for (int i = 0; i < count; i++)
                cur[i] = 0.0f;
        for (l = 0; filled >> l & 1u; l++) {
            for (int i = 0; i < count; i++)
                cur[i] += levels[l][i];
            filled &= ~(1u << l);
        }
        for (int i = 0; i < count; i++)
            levels[l][i] = cur[i];
        filled |= 1u << l;
    }
    for (l = 0; !(filled >> l & 1u); l++)
        ;
    for (int i = 0; i < count; i++)
        cur[i] = levels[l][i];
    while (++l < TREE_LEVELS)
        if (filled >> l & 1u)
            for (int i = 0; i < count; i++)
                cur[i] += levels[l][i];
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            c[i * ldc + j] += cur[i * nr + j];
}

int nn_sgemm_tree_blocked(const nn_gemm_kernel *kernel, int trans_a,
                          int trans_b, int m, int n, const int *bounds,
                          int shards, const float *a, int lda,
                          const float *b, int ldb, float *c, int ldc)
{
    _Alignas(64) float buffer[GEMM_BUFFER_FLOATS];
    size_t a_row = trans_a ? 1 : (size_t)lda, a_k = trans_a ? (size_t)lda : 1;
    size_t b_col = trans_b ? (size_t)ldb : 1, b_k = trans_b ? 1 : (size_t)ldb;
    int mr = kernel->mr, nr = kernel->nr, k = bounds[shards] - bounds[0];
    int pack_a = trans_a || !kernel->reads_a_in_place;
    int b_floats = pack_a ? GEMM_BUFFER_FLOATS / 2 : GEMM_BUFFER_FLOATS;
    float *packed_b = buffer, *packed_a = buffer + b_floats;
    int mb, nb;
    if (shards < 1 || shards >= 1 << TREE_LEVELS || mr * nr > TILE_MAX)
        return 0;
    for (int s = 0; s < shards; s++)
        if (bounds[s + 1] - bounds[s] > GEMM_KC)
            return 0; /* nn_sgemm would cut it into k blocks */
    if (m <= 0 || n <= 0)
        return 1;
    if (k <= 0 || (size_t)k * nr > (size_t)b_floats)
        return k <= 0; /* nothing to add, or too deep for one panel */
    a += (size_t)bounds[0] * a_k;
    b += (size_t)bounds[0] * b_k;
    mb = pack_a ? block_size(m, b_floats / k / mr * mr, mr) : m;
    nb = block_size(n, b_floats / k / nr * nr, nr);
    for (int jc = 0; jc < n; jc += nb) {
        int nc = min_int(nb, n - jc);
        kernel->pack(b + jc * b_col, b_col, b_k, nc, k, nr, packed_b);
        for (int ic = 0; ic < m; ic += mb) {
            int mc = min_int(mb, m - ic);
            a_block_view view = {a + ic * a_row, a_row, a_row, a_k};
            if (pack_a) {
                kernel->pack(a + ic * a_row, a_row, a_k, mc, k, mr, packed_a);
                view = (a_block_view){packed_a, (size_t)k, 1, (size_t)mr};
            }
            for (int ir = 0; ir < mc; ir += mr) {
                a_block_view tile_a = view;
                tile_a.data = view.data + ir * view.panel_step;
                for (int jr = 0; jr < nc; jr += nr) {
                    int rows = min_int(mr, mc - ir), cols = min_int(nr, nc - jr);
                    float *c_tile = c + (ic + ir) * (size_t)ldc + jc + jr;
                    if (kernel->run_tree)
                        kernel->run_tree(bounds, shards, tile_a.data,
                                         tile_a.row_step, tile_a.k_step,
                                         packed_b + (size_t)jr * k, rows,
                                         cols, c_tile, (size_t)ldc);
                    else
                        tree_tile(kernel, &tile_a, packed_b + (size_t)jr * k,
                                  bounds, shards, rows, cols, c_tile,
                                  (size_t)ldc);
                }
            }
        }
    }
    return 1;
}
