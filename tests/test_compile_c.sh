#!/usr/bin/env bash
# Models compiled to C by nn_convert, end to end:
#   test_compile_c.sh BUILD_EXAMPLES_DIR COMPILE_C_REF DRIVER_C CC INT8_DRIVER_C
# For each net: compile_c_ref makes a model (seeded weights, batchnorm
# statistics away from the identity) and random inputs; nn_convert writes
# net.c and net.h; they must build with -std=c11 -Wall -Wextra -Werror
# -pedantic beside tests/compile_c/compile_c_driver.c, hold no malloc, stdio
# or variable at file scope, and give libnn's probabilities within 1e-6.
# Int8 models (the same nets quantized by nn_quantize on 32 calibration
# samples the test writes) compile the same way beside the same driver
# and must give nn_qmodel_logits's and
# nn_qmodel_predict's floats bit for bit.
set -u
bin=$1 ref=$2 driver=$3 cc=$4
other=$(command -v clang || echo "$cc")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
samples=8

fail() {
    failures=$((failures + 1))
    echo "FAIL $*"
}

# check_case NAME: nn_convert on $tmp/NAME/model.nnm, the C built and run
# on $tmp/NAME/in.bin, compared with libnn
check_case() {
    local name=$1 dir="$tmp/$1"
    "$bin/nn_convert" "$dir/model.nnm" "$dir/net.c" >"$dir/convert.txt" ||
        { fail "$name: nn_convert"; return; }
    grep -qE "constant data [0-9]+ bytes, working memory [0-9]+ bytes" \
        "$dir/convert.txt" || fail "$name: no sizes printed"
    if grep -nE "malloc|calloc|realloc|free *\(|printf|fopen|FILE|stdio" "$dir/net.c" ||
        grep -n "#include" "$dir/net.h" ||
        grep -n "#include" "$dir/net.c" | grep -vE '#include ("net.h"|<math.h>)$'; then
        fail "$name: the generated code allocates, prints or includes more"
    fi
    # At file scope: comments, preprocessor lines, braces, const arrays and
    # functions; nothing that could change.
    if grep -nvE '^( |$|#|/\*|\{|\}|static const float [a-z0-9_]+\[[0-9]+\] = \{$|static void [a-z0-9_]+\(|void net_(logits|predict)\()' \
        "$dir/net.c"; then
        fail "$name: something else at file scope"
    fi
    if grep -nE '^ +static ' "$dir/net.c"; then
        fail "$name: a static variable in a function"
    fi
    "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -O2 -I"$dir" "$dir/net.c" \
        "$driver" -o "$dir/driver" -lm || { fail "$name: does not compile"; return; }
    "$dir/driver" "$dir/in.bin" $samples "$dir/out.bin" || { fail "$name: driver"; return; }
    "$ref" check "$dir/model.nnm" "$dir/in.bin" $samples "$dir/out.bin" 1e-6 ||
        fail "$name: differs from libnn"
    sed "s|$dir/||" "$dir/convert.txt"
}

# random_case NAME SPEC C H W: a model with seeded weights
random_case() {
    mkdir -p "$tmp/$1"
    "$ref" make "$2" "$3" "$4" "$5" 11 "$tmp/$1/model.nnm" "$tmp/$1/in.bin" \
        $samples || { fail "$1: make"; return; }
    check_case "$1"
}

random_case lenet lenet 1 28 28
random_case deep-bn deep-bn 1 28 28
random_case resnet-small resnet-small 3 32 32
# Every other kind and option on (3, 12, 10): padded ceil-mode max pooling
# (7 x 6 where floor mode gives 6 x 5), average pooling without the padding,
# a ceil-mode average whose last window runs past the input, batchnorm's
# eps, leaky relu's slope, concat, sigmoid, tanh, dropout, global average
# pooling, batchnorm after dense.
random_case options "conv3x3x6p1,bneps0.001,leakyrelu@a,pool3s2p1c@m,avgpool3s2p1ce(a)@v,concat(m,v),avgpool2s2c,conv3x3x5s2p1,sigmoid,dropout0.3,conv1x1x4,tanh,leakyrelu0.2,gap,dense12,bn,relu,dense10" 3 12 10
# Outputs that are other outputs: dropout of the input, an add reading the
# input, a last layer that is a dropout (copied into the caller's output).
random_case aliases "dropout@d,relu,add(d),conv3x3x3p1,dropout" 3 5 4
# A trained lenet (its logits larger than at initialisation), on generated
# MNIST-format data.
mkdir -p "$tmp/trained"
python3 "$(dirname "$0")/make_mnist.py" "$tmp/mnist" 256 32 &&
    "$bin/mnist_train" --data "$tmp/mnist" --model lenet --epochs 2 --limit 256 \
        --threads 1 --quiet --save "$tmp/trained/model.nnm" >/dev/null &&
    "$ref" inputs 1 28 28 5 "$tmp/trained/in.bin" $samples &&
    check_case trained || fail "trained: mnist_train"

# int8_case NAME C H W: $tmp/NAME/model.nnm quantized, compiled to C
# (with cc and clang), run on $tmp/NAME/in.bin, compared bit for bit
int8_case() {
    local name=$1 dir="$tmp/$1/int8"
    mkdir -p "$dir"
    "$ref" inputs "$2" "$3" "$4" 23 "$dir/calibration.bin" 32 &&
        "$ref" quantize "$tmp/$name/model.nnm" "$dir/calibration.bin" 32 \
            "$dir/model.nnm" || { fail "$name int8: quantize"; return; }
    "$bin/nn_convert" "$dir/model.nnm" "$dir/net.c" >"$dir/convert.txt" ||
        { fail "$name int8: nn_convert"; return; }
    grep -qE "int8, constant data [0-9]+ bytes, working memory [0-9]+ bytes" \
        "$dir/convert.txt" || fail "$name int8: no sizes printed"
    if grep -nE "malloc|calloc|realloc|free *\(|printf|fopen|FILE|stdio" "$dir/net.c" ||
        grep -n "#include" "$dir/net.h" ||
        grep -n "#include" "$dir/net.c" |
            grep -vE '#include ("net.h"|<math.h>|<stdint.h>)$'; then
        fail "$name int8: the generated code allocates, prints or includes more"
    fi
    if grep -nvE '^( |$|#|/\*|\{|\}|static const (int8_t|uint8_t|int32_t|float) [a-z0-9_]+\[[0-9]+\] = \{$|static (void|int32_t) [a-z0-9_]+\(|void net_(logits|predict)\()' \
        "$dir/net.c"; then
        fail "$name int8: something else at file scope"
    fi
    if grep -nE '^ +static ' "$dir/net.c"; then
        fail "$name int8: a static variable in a function"
    fi
    "$other" -std=c11 -Wall -Wextra -Werror -pedantic -O2 -c "$dir/net.c" \
        -o "$dir/net.o" || fail "$name int8: $other does not compile it"
    "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -O2 -I"$dir" "$dir/net.c" \
        "$driver" -o "$dir/driver" -lm || { fail "$name int8: does not compile"; return; }
    "$dir/driver" "$tmp/$name/in.bin" $samples "$dir/out.bin" ||
        { fail "$name int8: driver"; return; }
    "$ref" qcheck "$dir/model.nnm" "$tmp/$name/in.bin" $samples "$dir/out.bin" ||
        fail "$name int8: differs from libnn's int8 path"
    # its ONNX export (checked against ONNX Runtime by crosscheck.sh): written,
    # and the same bytes twice
    "$bin/nn_convert" "$dir/model.nnm" "$dir/a.onnx" &&
        "$bin/nn_convert" "$dir/model.nnm" "$dir/b.onnx" && [ -s "$dir/a.onnx" ] &&
        cmp -s "$dir/a.onnx" "$dir/b.onnx" || fail "$name int8: ONNX export"
    sed "s|$tmp/||" "$dir/convert.txt"
}

# A residual net for int8: add, concat, leaky relu, average pooling with
# padding (counted and not), a 1x1 strided shortcut, sigmoid and tanh
# tables, global average pooling, batchnorm folded and not.
random_case residual "conv3x3x8p1,bn,relu@a,conv3x3x8p1,bn,leakyrelu0.1,conv3x3x8p1,add(a),relu@r,avgpool3s2p1@p,conv1x1x8s2(r)@s,concat(p,s),bn,conv3x3x12p1,sigmoid,avgpool3s2p1e,conv3x3x10p1,tanh,gap,dense10" 3 16 16
int8_case lenet 1 28 28
int8_case deep-bn 1 28 28
int8_case residual 3 16 16
int8_case trained 1 28 28

# The symbols take the file's name (my-model.c: my_model_predict), and
# clang builds the code too when it is there.
"$bin/nn_convert" "$tmp/options/model.nnm" "$tmp/options/my-model.c" >/dev/null &&
    grep -q '^void my_model_predict(const float \*in, float \*probs, float \*work)$' \
        "$tmp/options/my-model.c" &&
    grep -q '^#define MY_MODEL_WORK_FLOATS [0-9]*$' "$tmp/options/my-model.h" &&
    "$other" -std=c11 -Wall -Wextra -Werror -pedantic -O2 -c \
        "$tmp/options/my-model.c" -o "$tmp/options/my-model.o" ||
    fail "my-model.c: names, or $other"
# An int8 model has no .mat or .npy form: refused (exit 1).
"$bin/nn_convert" "$tmp/lenet/int8/model.nnm" "$tmp/lenet/int8/w.mat" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "int8" "$tmp/err" || fail "int8 model to .mat not refused"
# A place that cannot be written: exit 1, no file left.
"$bin/nn_convert" "$tmp/lenet/model.nnm" "$tmp/missing/net.c" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "missing/net" "$tmp/err" || fail "unwritable output"

if [ $failures -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all compiled models match libnn"
