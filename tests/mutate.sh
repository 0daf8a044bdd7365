#!/bin/sh
# Mutation check: do the gradient and optimizer tests fail when the code
# they guard is made wrong? Copies the working tree (tracked and untracked,
# not ignored files) to a temporary directory, builds it (Release, tests
# only, -j2), then for each mutant below edits one file of the copy with
# sed, rebuilds the tests that run, runs them (ctest label grad, plus
# test_optim, test_preset_sizes, test_onnx, test_onnx_export,
# test_checkpoint, test_shards, test_train, test_numeric, test_infer_buffer,
# test_infer_fast, test_quant, test_quant_kernels, test_winograd43 and
# test_gemm) and
# restores the file. The checkout itself is never modified. Not run by CI: the 119
# mutants take 15 to 40 minutes on the 2-core machine (more when other work
# runs beside them).
# Results and what they show: docs/RELIABILITY.md, "Mutation check".
#
#   tests/mutate.sh [PATTERN]    only the mutants whose name matches PATTERN
#                                (grep -E)
#
# Prints a Markdown table: each mutant and the tests that failed on it
# (killed; "crash" or "timeout" when the failure was one), or SURVIVED.
# Exit status: 0 when every mutant was killed, 1 when one survived, 2 when
# the unmutated tree fails or a mutant no longer applies (the code changed:
# update its sed expression).
set -eu

pattern=${1:-.}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/nn_mutate.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
tree=$work/tree
build=$work/build
mkdir "$tree"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
     xargs -0 tar -cf - --) | tar -C "$tree" -xf -

cmake -S "$tree" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DNN_BUILD_EXAMPLES=OFF >"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; exit 2; }
tests=$(cd "$build" && ctest -N -L grad | sed -n 's/^ *Test *#[0-9]*: //p')
tests=$(printf '%s\n' $tests test_optim test_preset_sizes test_onnx \
    test_onnx_export test_checkpoint test_shards test_train test_numeric \
    test_infer_buffer test_infer_fast test_quant test_quant_kernels \
    test_winograd43 test_gemm |
    sort -u)

# Builds the tests; runs each; prints the failed ones (with "(crash)" or
# "(timeout)") and the cmocka tests that failed in each, or nothing.
run_suite() {
    cmake --build "$build" -j2 --target $tests >"$work/build.log" 2>&1 ||
        { echo "build failed"; return; }
    killers=
    for t in $tests; do
        if (cd "$build" && ctest -R "^$t\$" --timeout 300 \
                --output-on-failure) >"$work/run.log" 2>&1; then
            continue
        fi
        how=
        grep -q 'Timeout' "$work/run.log" && how=' (timeout)'
        grep -q -E 'SEGFAULT|Exception|Child aborted' "$work/run.log" &&
            how=' (crash)'
        cases=$(sed -n 's/^\[  FAILED  \] \(test_[a-z0-9_]*\)$/\1/p' \
                    "$work/run.log" | sort -u | tr '\n' ' ' | sed 's/ $//')
        [ -n "$cases" ] && cases=": $cases"
        killers="$killers${killers:+; }$t$how$cases"
    done
    printf '%s' "$killers"
}

base=$(run_suite)
if [ -n "$base" ]; then
    echo "the unmutated tree fails: $base" >&2
    cat "$work/build.log" >&2
    exit 2
fi

total=0 killed=0 broken=0
echo "| mutant | file | change | killed by |"
echo "|---|---|---|---|"

# mutant NAME FILE DESCRIPTION SED-EXPRESSION [SED-EXPRESSION]: runs one.
mutant() {
    name=$1 file=$2 what=$3
    shift 3
    printf '%s\n' "$name" | grep -q -E "$pattern" || return 0
    cp "$tree/$file" "$work/saved"
    if [ $# -eq 2 ]; then
        sed -i -e "$1" -e "$2" "$tree/$file"
    else
        sed -i -e "$1" "$tree/$file"
    fi
    if cmp -s "$tree/$file" "$work/saved"; then
        result="NOT APPLIED: the code changed, update the sed expression"
        broken=$((broken + 1))
    else
        result=$(run_suite)
        total=$((total + 1))
        if [ -n "$result" ]; then
            killed=$((killed + 1))
        else
            result=SURVIVED
        fi
    fi
    cp "$work/saved" "$tree/$file"
    echo "| $name | $(basename "$file") | $what | $result |"
}

# The mutants, one a line: name|file|what it breaks|sed expression(s).
while IFS='|' read -r name file what expr1 expr2 <&3; do
    case $name in '#'*|'') continue ;; esac
    if [ -n "$expr2" ]; then
        mutant "$name" "$file" "$what" "$expr1" "$expr2"
    else
        mutant "$name" "$file" "$what" "$expr1"
    fi
done 3<<'EOF'
# Dense layers: the public kernels, and the layer's backward, cut into
# column pieces (layers with 384 or more inputs have several).
dense-kernel-dx-sign|src/layers/layer_dense.c|nn_dense_backward: dx -= dy W|s/nn_sgemm(0, 0, n, in, out, 1\.0f/nn_sgemm(0, 0, n, in, out, -1.0f/
dense-kernel-dw-sign|src/layers/layer_dense.c|nn_dense_backward: dW -= dy^T x|s/nn_sgemm(1, 0, out, in, n, 1\.0f/nn_sgemm(1, 0, out, in, n, -1.0f/
dense-kernel-db-dropped|src/layers/layer_dense.c|nn_dense_backward: db += 0|s/dbias\[o\] += dy\[/dbias[o] += 0.0f * dy[/
dense-layer-dx-sign|src/layers/layer_dense.c|layer: dx -= dy W|s/job->sgemm(0, 0, in->n, last - first, out_n, 1\.0f/job->sgemm(0, 0, in->n, last - first, out_n, -1.0f/
dense-layer-dw-sign|src/compute/gemm_blocked.c|layer, portable tree gemm: dW -= the shards' tree|s/c\[i \* ldc + j\] += cur\[i \* nr + j\];/c[i * ldc + j] -= cur[i * nr + j];/
dense-layer-dx-sign-later-pieces|src/layers/layer_dense.c|layer: dx of every column piece but the first negated|s/job->sgemm(0, 0, in->n, last - first, out_n, 1\.0f/job->sgemm(0, 0, in->n, last - first, out_n, first ? -1.0f : 1.0f/
dense-layer-dw-later-pieces-dropped|src/layers/layer_dense.c|layer: dW of every column piece but the first left out|/the shards' products tile by tile/,/PARTIAL_COLUMNS)$/s/    if (last > first \&\&$/    if (last > first \&\& first == 0 \&\&/
dense-piece-start-off-by-one|src/layers/layer_dense.c|column_piece: pieces after the first start one column late|s/\*first \*= 16;/*first = *first * 16 + (*first > 0);/
dense-piece-end-off-by-one|src/layers/layer_dense.c|column_piece: every piece ends one column early|s/\*last = \*last \* 16 < inputs ? \*last \* 16 : inputs;/*last = *last * 16 - 1 < inputs ? *last * 16 - 1 : inputs;/
dense-layer-db-dropped|src/layers/layer_dense.c|layer: db += 0|s/db\[o\] += ex->partials\[db_at + o\];/db[o] += 0.0f * ex->partials[db_at + o];/
# Convolutions, each algorithm.
conv-im2col-dw-sign|src/layers/layer_conv2d.c|im2col: dW -= dy col^T|s/sgemm(0, 1, s->out_c, k, p, 1\.0f/sgemm(0, 1, s->out_c, k, p, -1.0f/
conv-im2col-dx-sign|src/layers/layer_conv2d.c|im2col: dcol = -W^T dy|s/sgemm(1, 0, k, p, s->out_c, 1\.0f/sgemm(1, 0, k, p, s->out_c, -1.0f/
conv-im2col-db-dropped|src/layers/layer_conv2d.c|im2col: db += 0|s/dbias\[o\] += nn_sum(dyi/dbias[o] += 0.0f * nn_sum(dyi/
conv-winograd-dw-sign|src/compute/conv_winograd.c|Winograd: dU -= dM V^T|s/sgemm(0, 1, s->out_c, s->in_c, (int)cols, 1\.0f/sgemm(0, 1, s->out_c, s->in_c, (int)cols, -1.0f/
conv-winograd-dw-middle-row|src/compute/conv_winograd.c|Winograd: G^T dU G, middle row negated|s/out\[1\]\[c\]\[l\] = (h\[1\]\[c\]\[l\] - h\[2\]\[c\]\[l\])/out[1][c][l] = (h[2][c][l] - h[1][c][l])/
conv-winograd-db-dropped|src/compute/conv_winograd.c|Winograd: db += 0|s/dbias\[c\] += nn_sum(dyi/dbias[c] += 0.0f * nn_sum(dyi/
conv-winograd-dx-sign|src/compute/conv_winograd.c|Winograd: dV = -U^T dM|s/sgemm(1, 0, s->in_c, (int)cols, s->out_c, 1\.0f,/sgemm(1, 0, s->in_c, (int)cols, s->out_c, -1.0f,/
conv-winograd43-bt-coefficient|src/compute/conv_winograd43.c|Winograd F(4x4): B^T row 0 with -4 for -5 (both steps)|s/o0\[t\] = 4\.0f \* d0 - 5\.0f \* d2 + d4;/o0[t] = 4.0f * d0 - 4.0f * d2 + d4;/
conv-winograd43-g-coefficient|src/compute/conv_winograd43.c|Winograd F(4x4): G row 3 with 1/6 for 1/12|s/o\[3\]\[l\] = a0\[l\] \/ 24\.0 + a1\[l\] \/ 12\.0/o[3][l] = a0[l] \/ 24.0 + a1[l] \/ 6.0/
conv-winograd43-at-coefficient|src/compute/conv_winograd43.c|Winograd F(4x4): A^T row 3 with 4 for 8|s/o3\[t\] = dif12 + 8\.0f \* dif34/o3[t] = dif12 + 4.0f * dif34/
conv-winograd43-bias-dropped|src/compute/conv_winograd43.c|Winograd F(4x4): y = A^T M A (bias left out of whole tiles)|s/d\[4 \* k\] = bias + i0\[k\];/d[4 * k] = 0.0f * bias + i0[k];/
conv-winograd43-a-adjoint|src/compute/conv_winograd43.c|Winograd F(4x4) backward: A row 4 with +2, +8 for -2, -8 (dM = A dY A^T)|s/o4\[t\] = even4 - odd4;/o4[t] = even4 + odd4;/
conv-winograd43-b-adjoint|src/compute/conv_winograd43.c|Winograd F(4x4) backward: B row 3 with -4 for -5 (dX += B dV B^T)|s/o3\[t\] = (d1 - d2) + 2\.0f \* (d3 - d4) - 5\.0f \* d5;/o3[t] = (d1 - d2) + 2.0f * (d3 - d4) - 4.0f * d5;/
conv-winograd43-gt-coefficient|src/compute/conv_winograd43.c|Winograd F(4x4) backward: G^T row 1 with 1/6 for 1/12 (dW = G^T dU G)|s/(a\[3\]\[l\] - a\[4\]\[l\]) \/ 12\.0;/(a[3][l] - a[4][l]) \/ 6.0;/
conv-winograd-dw-kernel-transposed|src/compute/conv_winograd.c|Winograd: blocked G^T dU G stores each kernel transposed|s/dw\[9 \* (p + l) + k\] += out\[k \/ 3\]\[k % 3\]\[l\];/dw[9 * (p + l) + k] += out[k % 3][k \/ 3][l];/
conv-winograd43-weights-gather|src/compute/conv_winograd43.c|Winograd F(4x4): blocked G g G^T reads lane l's kernel from the wrong place|s/g\[k\]\[l\] = l < n ? w\[9 \* (p + l) + k\] : 0\.0;/g[k][l] = l < n ? w[9 * p + l + k] : 0.0;/
conv-winograd43-gt-reciprocal|src/compute/conv_winograd43.c|Winograd F(4x4) backward: G^T's 1/12 as a product with a rounded reciprocal (other bits)|s/(a\[3\]\[l\] - a\[4\]\[l\]) \/ 12\.0;/(a[3][l] - a[4][l]) * (1.0 \/ 12.0);/
conv-relu-mask-dropped|src/layers/layer_conv2d.c|convolution + relu in training: the relu's mask left out of the fused backward|s/    if (layer->relu_applied) \/\* out is the relu's: its mask, on our images \*\//    if (0) \/* out is the relu's: its mask, on our images *\//
conv-relu-forward-dropped|src/layers/layer_conv2d.c|convolution + relu in training: the fused forward leaves out the relu|s/    if (layer->relu_applied) \/\* while y is in the cache \*\//    if (layer->relu_applied \&\& 0) \/* while y is in the cache *\//
conv-winograd43-split-edge-stale|src/compute/conv_winograd43.c|Winograd F(4x4): the right edge of a split input row left as the previous row's|s/split_edge(s, src, hi, (int)wide, q, wide);/split_edge(s, src, hi + 1, (int)wide, q, wide);/
conv-winograd43-merge-residue|src/compute/conv_winograd43.c|Winograd F(4x4) backward: dx column 4k + 3 gets residue 2's value (inside of a row)|s/d\[4 \* k + 3\] += q3\[k\];/d[4 * k + 3] += q2[k];/
conv-direct-dw-sign|src/compute/conv_direct_avx2.c|direct AVX2: dW -= dWt|s/dw\[o \* taps(&f) + t\] += sc\.dwt/dw[o * taps(\&f) + t] -= sc.dwt/
conv-direct-db-dropped|src/compute/conv_direct_avx2.c|direct AVX2: db += 0|s/db\[o\] += sc\.bias\[o\];/db[o] += 0.0f * sc.bias[o];/
conv-direct-dx-sign-rows|src/compute/conv_direct_avx2.c|direct AVX2, 4 or fewer input channels: dx -= ...|s/dst\[ix\] += src\[ix\];/dst[ix] -= src[ix];/
conv-direct-dx-sign-planar|src/compute/conv_direct_avx2.c|direct AVX2, more input channels: dx -= ...|s/r\[i\] = _mm256_add_ps(_mm256_loadu_ps(dst), r\[i\]);/r[i] = _mm256_sub_ps(_mm256_loadu_ps(dst), r[i]);/
conv-direct-dx-overwrites|src/compute/conv_direct_avx2.c|direct AVX2, more input channels: dx = ... (no accumulation)|s/dx + i \* in_size, 1);/dx + i * in_size, 0);/
conv-direct512-forward-two-roundings|src/compute/conv_direct_avx2.c|direct AVX-512, forward and dx: products rounded before they are added (within im2col's tolerance, not the AVX2 bits)|s/acc\[r\]\[j\]\[0\] = _mm512_fmadd_ps(x, w0, acc\[r\]\[j\]\[0\]);/acc[r][j][0] = _mm512_add_ps(_mm512_mul_ps(x, w0), acc[r][j][0]);/
conv-direct512-dw-upper-lanes|src/compute/conv_direct_avx2.c|direct AVX-512, dW of 32-lane tiles: channels 16..31 summed with channels 0..15's dy|s/acc\[r\]\[j\]\[1\] = _mm512_fmadd_ps(x, d1, acc\[r\]\[j\]\[1\]);/acc[r][j][1] = _mm512_fmadd_ps(x, d0, acc[r][j][1]);/
gemm-avx512-epilogue-fused|src/compute/gemm_avx512.c|AVX-512 gemm: beta C added by an FMA (one rounding fewer than the AVX2 path: other bits)|s/                        t, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(mask, at)));/                        t, _mm512_setzero_ps()); t = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, at), t);/
# Batchnorm.
batchnorm-dx-sign|src/layers/layer_batchnorm.c|dx -= ... (and dx = -...)|s/dx\[at + j\] += a \* dy/dx[at + j] -= a * dy/|s/dx\[at + j\] = a \* dy\[at + j\] + (b/dx[at + j] = -a * dy[at + j] - (b/
batchnorm-dx-mean-term-dropped|src/layers/layer_batchnorm.c|dx without - sum dy|s/d = -scale \/ count \* sum_dy - b \* mean;/d = -b * mean;/
batchnorm-dbeta-dropped|src/layers/layer_batchnorm.c|dbeta += 0|s/dbeta\[ch\] += sums\[0\];/dbeta[ch] += 0.0f * sums[0];/
batchnorm-running-var-biased|src/layers/layer_batchnorm.c|running variance without n/(n-1)|s/(float)(count > 1 ? sq \/ (double)(count - 1) : var)/(float)var/
batchnorm-momentum-0.01|src/layers/layer_batchnorm.c|momentum 0.1 -> 0.01|s/#define BN_MOMENTUM 0\.1f/#define BN_MOMENTUM 0.01f/
batchnorm-eps-outside-sqrt|src/layers/layer_batchnorm.c|training: xhat = (x - mean) / (sqrt(var) + eps)|s/return (float)(1\.0 \/ sqrt(var + eps));/return (float)(1.0 \/ (sqrt(var) + eps));/
batchnorm-eps-in-running-var|src/layers/layer_batchnorm.c|running variance moved towards var + eps|s/(float)(count > 1 ? sq \/ (double)(count - 1) : var)/(float)((count > 1 ? sq \/ (double)(count - 1) : var) + eps)/
batchnorm-eps-default-in-inference|src/layers/layer_batchnorm.c|inference: 1e-5 whatever the layer's eps|s/sqrtf(running_var\[ch\] + layer->args.eps)/sqrtf(running_var[ch] + NN_BATCHNORM_EPS)/
batchnorm-eps-default-in-training|src/layers/layer_batchnorm.c|training: 1e-5 whatever the layer's eps|s/BN_MOMENTUM, layer->args.eps)/BN_MOMENTUM, NN_BATCHNORM_EPS)/
batchnorm-batch-one-refused-in-inference|src/layers/layer_batchnorm.c|check_batch: one value per channel refused in inference mode too|s/return training \&\& (size_t)batch/return (size_t)batch/
batchnorm-one-read-uncentred|src/layers/layer_batchnorm.c|one-read statistics: sum (x - shift)^2 taken as sum (x - mean)^2|s/double centred = s2 - s1 \* (s1 \/ (double)count);/double centred = s2;/
bnfuse-sums-mask-ge|src/layers/layer_batchnorm.c|batchnorm applying the relu after it, SSE2 gradient sums: lanes 0-3 masked with relu_y >= 0|s/_mm_cmpgt_ps(_mm_loadu_ps(relu_y + j), zero)/_mm_cmpge_ps(_mm_loadu_ps(relu_y + j), zero)/
bnfuse-dx-unmasked|src/layers/layer_batchnorm.c|batchnorm applying the relu after it: dx from dy without the relu's mask|s/a \* relu_masked(dy\[at + j\], relu_y\[at + j\])/a * dy[at + j]/g
addfuse-forward-no-relu|src/layers/layer_add.c|add applying the relu after it: writes the sum without the relu|s/relu_in_place(y + first, size);/relu_in_place(y + first, 0);/
addfuse-backward-unmasked|src/layers/layer_add.c|add applying the relu after it: dx += dy without the relu's mask|s/dx\[i\] += relu_y\[i\] > 0\.0f ? d : 0\.0f;/dx[i] += d;/
train-last-batch-of-min-size-dropped|src/train/train.c|nn_train_epoch: a last batch of nn_net_min_batch left out too|s/if (n < min_batch)/if (n <= min_batch)/
# Activations, pooling, dropout.
relu-backward-sign|src/layers/layer_activation.c|dx = -dy [y > 0], in the kernel and the layer|s/y\[i\] > 0\.0f ? d : 0\.0f;/y[i] > 0.0f ? -d : 0.0f;/g
maxpool-backward-sign|src/layers/layer_maxpool.c|dx[winner] -= dy|s/dplane\[ap\[i\]\] += dyp\[i\];/dplane[ap[i]] -= dyp[i];/
maxpool-ties-last|src/layers/layer_maxpool.c|general path: the last of tied values wins|s/if (row\[j\] > best /if (row[j] >= best /
maxpool-2x2-ties-column-major|src/layers/layer_maxpool.c|2x2 stride 2 path: a tie of top-right and bottom-left goes to bottom-left|s/where = b == best ? 1 : where;/where = b == best \&\& c != best ? 1 : where;/
avgpool-backward-sign-2x2|src/layers/layer_avgpool.c|k2 s2 path: share = -dy / 4|s/float share = g\[ox\] \/ 4\.0f;/float share = -g[ox] \/ 4.0f;/
avgpool-backward-sign|src/layers/layer_avgpool.c|general path: share = -dy / divisor|s/share = dyp\[oy \* out_w + ox\] \//share = -dyp[oy * out_w + ox] \//
avgpool-exclude-pad-ignored|src/layers/layer_avgpool.c|e: the padding counted in the mean anyway|s/return s->exclude_pad ? (float)((h1 - h0) \* (w1 - w0))/return 0 ? (float)((h1 - h0) * (w1 - w0))/
avgpool-ceil-divisor-unclipped|src/layers/pool.h|ceil mode: a window past the padded input divided by kh kw|s/\*padded = (end < size + pad ? end : size + pad) - start;/*padded = end - start;/
pool-ceil-last-window-kept|src/layers/pool.c|ceil mode: a last window that starts in the padding kept|s/        out--;/        out -= 0;/
maxpool-width-span-of-height|src/layers/layer_maxpool.c|general path: a window's columns spanned by kh|s/nn_pool_span(ox, s->stride, s->pad, s->kw, in_w/nn_pool_span(ox, s->stride, s->pad, s->kh, in_w/
global-avgpool-backward-sign|src/layers/layer_avgpool.c|share = -dy / hw|s/float share = dy\[p\] \/ (float)hw;/float share = -dy[p] \/ (float)hw;/
dropout-backward-sign|src/layers/layer_dropout.c|dx -= dy mask / (1 - rate)|s/dx\[i\] += dy\[i\] \* ((float)mask\[i\] \* scale);/dx[i] -= dy[i] * ((float)mask[i] * scale);/
# Optimizers.
sgd-nesterov-mu-dropped|src/optim/optimizers.c|Nesterov: w -= lr (d + v)|s/w\[i\] -= lr \* (d + mu \* v\[i\]);/w[i] -= lr * (d + v[i]);/
sgd-nesterov-buffer-not-accumulated|src/optim/optimizers.c|Nesterov: v = d (no mu v)|s/v\[i\] = mu \* v\[i\] + keep \* d;/v[i] = keep * d;/
sgd-ema-keep-dropped|src/optim/optimizers.c|EMA: v = mu v + d|s/1\.0f - mu : 1\.0f;/1.0f : 1.0f;/
sgd-decay-sign|src/optim/optimizers.c|momentum SGD: d = g - wd w|s/keep \* (g\[i\] + wd \* w\[i\])/keep * (g[i] - wd * w[i])/
optim-piece-layer-at-last-value-skipped|src/optim/optim.c|a layer starting at a piece's last value left out of that piece|s/i < opt->layers \&\& off < last;/i < opt->layers \&\& off + 1 < last;/
optim-decay-all-ignored|src/optim/optim.c|decay_all ignored|s/size_t decayed = opt->s\.decay_all ? n : /size_t decayed = /
adam-bias-correction-t-plus-1|src/optim/optimizers.c|Adam: 1 - b^(t+1)|s/(float)t)/(float)(t + 1))/g
adam-decay-dropped|src/optim/optimizers.c|Adam: d = g (weight decay lost)|/^void nn_adam_update/,/^}/s/float d = g\[i\] + weight_decay \* w\[i\];/float d = g[i];/
adam-decay-decoupled|src/optim/optimizers.c|Adam: w -= lr wd w, d = g (AdamW's decay)|/^void nn_adam_update/,/^}/s/float d = g\[i\] + weight_decay \* w\[i\];/w[i] -= s->lr * weight_decay * w[i]; float d = g[i];/
rmsprop-decay-dropped|src/optim/optimizers.c|RMSprop: d = g (weight decay lost)|/^void nn_rmsprop_update/,/^}/s/float d = g\[i\] + weight_decay \* w\[i\];/float d = g[i];/
rmsprop-alpha-swapped|src/optim/optimizers.c|a = (1-alpha) a + alpha d^2|s/a\[i\] = alpha \* a\[i\] + (1\.0f - alpha) \* d \* d;/a[i] = (1.0f - alpha) * a[i] + alpha * d * d;/
rmsprop-momentum-dropped|src/optim/optimizers.c|b = d / r|s/b\[i\] = mu \* b\[i\] + d \/ r;/b[i] = d \/ r;/
# ONNX reader (test_onnx).
onnx-float-runs-overwrite|src/io/onnx_read.c|float_data: each packed run written over the last|s/                k += f\.size \/ 4;/                k += 0;/
onnx-int64-packed-zero|src/io/onnx_read.c|int64_data packed: read as zeros|s/in->ints\[k++\] = (int64_t)v;/in->ints[k++] = 0;/
onnx-pads-replace|src/io/onnx_read.c|a second Pad replaces the first|s/\*pending_pad += pad;/*pending_pad = pad;/
onnx-final-pad-dropped|src/io/onnx_read.c|a Pad at the end is dropped|s/    if (pending_pad > 0) {/    if (0) {/
onnx-output-unchecked|src/io/onnx_read.c|graph.output not compared with the last node's|s/    if (strcmp(m->outputs\[0\], current)) {/    if (0) {/
onnx-opset-unbounded|src/io/onnx_read.c|any opset above 7 read|s/#define OPSET_MAX 21/#define OPSET_MAX 1000/
onnx-ssa-unchecked|src/io/onnx_read.c|a name written twice accepted|s/        if (!strcmp(w->names\[k\], name)) {/        if (0) {/
onnx-epsilon-exported-default|src/io/onnx_layers.c|export: epsilon 1e-5 whatever the layer's|s/nn_onnx_attr_float(g, "epsilon", layer->args.eps);/nn_onnx_attr_float(g, "epsilon", NN_BATCHNORM_EPS);/
onnx-count-include-pad-ignored|src/io/onnx_layers.c|import: AveragePool's padding always counted|s/out->args.exclude_pad = out->args.pad > 0 \&\& !(count_pad \&\& count_pad->i);/out->args.exclude_pad = 0;/
onnx-kernel-shape-unchecked|src/io/onnx_layers.c|Conv's kernel_shape not compared with its weights|s/if (kernel \&\& (kernel->n_ints != 2/if (0 \&\& (kernel->n_ints != 2/
onnx-int-attribute-typed-ints|src/io/onnx_node.c|export: INT attributes typed INTS|s/nn_pb_varint(g->graph, ATTR_TYPE, ATTR_INT);/nn_pb_varint(g->graph, ATTR_TYPE, ATTR_INTS_TYPE);/
onnx-float-attribute-typed-int|src/io/onnx_node.c|export: FLOAT attributes typed INT|s/nn_pb_varint(g->graph, ATTR_TYPE, ATTR_FLOAT);/nn_pb_varint(g->graph, ATTR_TYPE, ATTR_INT);/
# The trainer (test_shards).
train-gradient-check-skipped|src/train/train.c|no check for non-finite gradients before the step|s/    if (!isfinite(nn_sum(nn_net_grads(net), nn_net_param_count(net))))/    if (0)/
onnx-same-ints-last-unchecked|src/io/onnx_node.c|an INTS attribute's last value not compared (asymmetric pads pass)|s/    for (int i = 1; i < n; i++)$/    for (int i = 1; i < n - 1; i++)/
onnx-pad-end-width-unchecked|src/io/onnx_read.c|a Pad's end of width not compared with the rest|s/        p\[2\] != p\[7\] .. p\[2\] < 0/        p[2] < 0/
# Checkpoints (test_checkpoint).
checkpoint-state-finite-unchecked|src/io/checkpoint.c|NaN in the optimizer state loads|s/if (buffer \&\& !all_finite(buffer, n)) {/if (0) {/
optim-resume-alpha-unchecked|src/optim/optim.c|a resume with another RMSprop alpha accepted|/DIFFERS(e->uses \& USES_ALPHA, alpha/d
optim-resume-nesterov-unchecked|src/optim/optim.c|a resume with Nesterov switched accepted|/DIFFERS(e->uses \& USES_SGD, nesterov/d
optim-resume-beta2-unchecked|src/optim/optim.c|a resume with another beta2 accepted|/DIFFERS(e->uses \& USES_BETAS, beta2/d
checkpoint-unknown-kind|src/io/checkpoint.c|an unknown optimizer kind reaches the comparison|s/    if (!nn_optim_name(s\.kind)) {/    if (0) {/
adamw-decay-after-step|src/optim/optimizers.c|AdamW: w *= 1 - lr wd after the step|/^ *w\[i\] \*= keep;$/d|s/^\( *\)\(w\[i\] -= step \* m\[i\].*\)$/\1\2\n\1w[i] *= keep;/
# Graphs of layers (test_graph, test_parity_residual, test_infer_buffer).
graph-stage-off|src/net/net_build.c|a layer that writes its input gradient overwrites what later readers added|s/    return (layer->kind->flags \& NN_KIND_SETS_INPUT_GRAD) \&\&$/    return 0 \&\&/
graph-grad-slot-freed-early|src/net/net_build.c|a gradient slot reused before its tensor's maker has run|s/: t - 1 <= i;/: t - 1 < i;/
graph-value-slot-freed-early|src/net/net_build.c|inference: a value slot reused before its last reader has run|s/last_reader >= i : t/last_reader > i : t/
graph-clear-every-reader|src/net/net_run.c|every reader clears the gradient it adds to (the sum is lost)|s/        if (in\[k\]\.g \&\& nn_net_last_reader(net, t) == i \&\& !seen \&\&/        if (in[k].g \&\& !seen \&\&/
add-backward-first-input-only|src/layers/layer_add.c|add: only the first input gets the gradient|s/    for (int k = 0; k < inputs; k++)$/    for (int k = 0; k < 1; k++)/
concat-backward-first-value|src/layers/layer_concat.c|concat: every input gradient from dy's first value|s/                d\[i\] += dy\[i\];/                d[i] += dy[0];/
# Nets built for inference (test_infer_fast, test_infer_buffer, test_onnx).
infer-fold-no-shift|src/layers/layer.c|folded batchnorm: the shift left out of the bias|s/bias\[o\] = b\[o\] \* scale + shift;/bias[o] = b[o] * scale;/
infer-fold-no-scale|src/layers/layer.c|folded batchnorm: the weights not scaled|s/= w\[(size_t)o \* per_row + k\] \* scale;/= w[(size_t)o * per_row + k];/
infer-params-stale|src/net/net.c|nn_net_params hands out the weights without marking them changed|/^    net->weights_version++; \/\* the caller may write them \*\/$/d
infer-state-stale|src/net/net.c|nn_net_state hands out the statistics without marking them changed|/^    net->weights_version++; \/\* the caller may write it \*\/$/d
infer-relu-not-applied|src/layers/layer_conv2d.c|a relu fused into the convolution not applied|s/    if (layer->relu_to >= 0) \/\* while y is in the cache \*\//    if (0)/
infer-prepare-once|src/net/net_run.c|folded and transformed weights made for the first pass only|s/net->prepared_version != net->weights_version)/net->prepared_version == 0)/
# int8 models (test_quant, test_quant_kernels).
quant-rounding-flipped|src/quant/qmath.h|requant: rdivpot ties towards zero instead of away|s/    int32_t thr = (mask >> 1) + (x < 0 ? 1 : 0);/    int32_t thr = (mask >> 1) + (x < 0 ? 0 : 1);/
quant-zero-point-dropped|src/quant/qmodel.c|conv, dense, affine: the input zero point not folded into the bias|s/c->bias_folded\[o\] = c->bias\[o\] - zero \* sum;/c->bias_folded[o] = c->bias[o] + 0 * sum * zero;/
quant-shift-dropped|src/quant/qmath.h|requant: the right shift left out|s/    return m.shift > 0 ? nn_q_rdivpot(x, m.shift) : x;/    return x;/
quant-padding-zero|src/quant/qkernels.c|im2col pads with 0 instead of the input zero point|s/            memset(row, zero, (size_t)pad);/            memset(row, 0, (size_t)pad);/
quant-input-zero-point-dropped|src/quant/qmath.h|input quantization without its zero point|s/    return (uint8_t)nn_q_clamp(zero + (int32_t)v, 0, 255);/    return (uint8_t)nn_q_clamp((int32_t)v, 0, 255);/
quant-vnni512-wrong-quads|src/quant/qkernels_avx512.c|AVX-512 VNNI gemm: the first 16 positions of a 32-position tile multiplied with the next 16's quads|s/            c\[i\]\[0\] = _mm512_dpbusd_epi32(c\[i\]\[0\], x0, v);/            c[i][0] = _mm512_dpbusd_epi32(c[i][0], x1, v);/
quant-vnni512-tail-skipped|src/quant/qkernels_avx512.c|AVX-512 VNNI gemm: the last 16 positions left out when pos16 is an odd multiple of 16|s/    if (p < pos16) \/\*/    if (p + 16 < pos16) \/*/
quant-threads-own-patches|src/quant/qrun.c|one image on threads: each piece of channels reads its own thread's patches, not those built|s/        conv_outputs(job->q, job->op, 0, \&job->q->run->scratch\[0\], first,/        conv_outputs(job->q, job->op, 0, \&job->q->run->scratch[thread], first,/
EOF

echo
echo "$killed of $total mutants killed."
[ "$broken" -eq 0 ] || { echo "$broken mutants did not apply." >&2; exit 2; }
[ "$killed" -eq "$total" ] || exit 1
