#!/usr/bin/env bash
# The MPI trainers against mnist_train (ctest label mpi), on Fashion-MNIST
# (Debian's dataset-fashion-mnist, which tests/run.sh installs):
#   exact    a net with batchnorm on 1, 2, 3 and 4 processes: the saved
#            model is mnist_train's, byte for byte, with the default 4
#            shards (3 processes hold 1 + 1 + 2 shards, which the tree
#            adds as one process does) and with --shards 12 on 3; with
#            --shards 8 on 3 (2 + 3 + 3: another order) a note says the
#            bits will differ, and the test accuracy is within 2 points
#            of mnist_train --shards 8; too many processes and --sweep
#            are refused, each with one message
#   dropout  the same with a net with dropout (2, 3 and 4 processes)
#   cifar    cifar10_train_mpi (random crops and flips, normalisation) on 2
#            and 3 processes against cifar10_train, on generated files in
#            the CIFAR-10 binary layout
#   kill     kill -9 of one process mid-run: mpirun ends with an error
#            within 20 s
#   resume   a checkpoint after epoch 1 of 2 on 2 processes, resumed on 1
#            and on 4: the model of the run that was never interrupted
#   residual resnet-small (a residual net) on generated MNIST-format files:
#            1, 2, 3 and 4 processes give mnist_train's model, and a
#            checkpoint of 2 processes resumed on 1 and on 4 the model of
#            the run never interrupted; resnet20 with cifar10_train_mpi on
#            2 processes against cifar10_train
# Usage: test_mpi.sh CASE EXAMPLES_DIR MPIEXEC [MPIEXEC_FLAGS...]
set -euo pipefail
case_name=$1 bin=$2 mpiexec=$3
shift 3
flags=("$@")
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then
    echo "FAIL: no Fashion-MNIST in $data (apt-get install dataset-fashion-mnist)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 1200 images in batches of 32: 37 full batches and one of 16
common=(--data "$data" --limit 1200 --batch 32 --epochs 2 --threads 1
        --no-diagnostics)
bn="conv5x5x6,bn,relu,pool2,conv5x5x16,bn,relu,pool2,dense10"
drop="dense64,relu,dropout0.3,dense32,relu,dropout0.2,dense10"
failed=0

fail() {
    echo "FAIL: $*"
    failed=1
}

# plain NAME ARGS...: mnist_train, output in $tmp/NAME.out
plain() {
    local name=$1
    shift
    "$bin/mnist_train" "${common[@]}" --quiet "$@" >"$tmp/$name.out" 2>&1 ||
        fail "$name: mnist_train exited with $? ($(tail -1 "$tmp/$name.out"))"
}

# mpi NAME NP ARGS...: mnist_train_mpi on NP processes, output in
# $tmp/NAME.out, which must show that they shared the work (the same bits
# as one process would come as well from each training the whole batch)
mpi() {
    local name=$1 np=$2
    shift 2
    "$mpiexec" -n "$np" "${flags[@]}" "$bin/mnist_train_mpi" "${common[@]}" "$@" \
        >"$tmp/$name.out" 2>&1 || fail "$name: $np processes exited with $? ($(tail -1 "$tmp/$name.out"))"
    grep -q "^distributed: $np process" "$tmp/$name.out" ||
        fail "$name: no line 'distributed: $np processes'"
    if [ "$np" -gt 1 ] && ! grep -Eq "^exchange: [1-9][0-9]* sums, ([1-9][0-9]*\.[0-9]|0\.[1-9]) MiB sent" "$tmp/$name.out"; then
        fail "$name: no exchange between the processes ($(grep '^exchange' "$tmp/$name.out"))"
    fi
}

# make_cifar DIR PER_BATCH TEST: files in the CIFAR-10 binary layout, five
# training batches of PER_BATCH images and TEST test images, class k noise
# brightened by 12k
make_cifar() {
    mkdir -p "$1"
    python3 - "$@" <<'PY'
import os, random, sys
random.seed(7)
def batch(path, n):
    out = bytearray()
    for _ in range(n):
        k = random.randrange(10)
        out.append(k)
        out.extend(min(255, random.randrange(128) + 12 * k) for _ in range(3 * 1024))
    open(path, "wb").write(out)
for i in range(1, 6):
    batch(os.path.join(sys.argv[1], "data_batch_%d.bin" % i), int(sys.argv[2]))
batch(os.path.join(sys.argv[1], "test_batch.bin"), int(sys.argv[3]))
PY
}

# same A B WHAT: the two model files are the same bytes
same() {
    if cmp -s "$tmp/$1" "$tmp/$2"; then
        echo "ok: $3"
    else
        fail "$3: $1 and $2 differ"
    fi
}

# accuracy NAME: the final test accuracy printed in $tmp/NAME.out
accuracy() {
    sed -n 's/^test accuracy: \([0-9.]*\)%$/\1/p' "$tmp/$1.out" | tail -1
}

# refused NAME CODE MESSAGE NP ARGS...: mnist_train_mpi exits with CODE and says MESSAGE
refused() {
    local name=$1 code=$2 message=$3 np=$4 status=0
    shift 4
    "$mpiexec" -n "$np" "${flags[@]}" "$bin/mnist_train_mpi" "${common[@]}" "$@" \
        >"$tmp/$name.out" 2>&1 || status=$?
    if [ "$status" -ne "$code" ] || ! grep -q -- "$message" "$tmp/$name.out"; then
        fail "$name: exit $status (want $code), output: $(head -3 "$tmp/$name.out")"
    elif [ "$(grep -c -- "$message" "$tmp/$name.out")" -ne 1 ]; then
        fail "$name: the message is shown more than once"
    else
        echo "ok: $name refused: $message"
    fi
}

# bits MODEL NAME: 1, 2, 3, 4 processes (4 shards) and 3 (12 shards) give
# mnist_train's model
bits() {
    local model=$1 name=$2
    plain "$name-plain" --model "$model" --save "$tmp/$name-plain.nnm"
    for np in 1 2 3 4; do
        mpi "$name-np$np" "$np" --model "$model" --save "$tmp/$name-np$np.nnm"
        same "$name-plain.nnm" "$name-np$np.nnm" "$name: $np process(es) = mnist_train"
    done
    plain "$name-plain12" --model "$model" --shards 12 --save "$tmp/$name-plain12.nnm"
    mpi "$name-np3-12" 3 --model "$model" --shards 12 --save "$tmp/$name-np3-12.nnm"
    same "$name-plain12.nnm" "$name-np3-12.nnm" "$name: 3 processes --shards 12 = mnist_train --shards 12"
}

case "$case_name" in
exact)
    bits "$bn" bn
    # 3 processes over 8 shards (2, 3, 3): the same run up to rounding
    plain bn-plain8 --model "$bn" --shards 8 --save "$tmp/bn-plain8.nnm"
    mpi bn-np3-8 3 --model "$bn" --shards 8 --save "$tmp/bn-np3-8.nnm"
    grep -q "note: --shards 8 over 3 processes adds the shards in another order" \
        "$tmp/bn-np3-8.out" || fail "bn-np3-8: no note about the order"
    bits_differ=no
    cmp -s "$tmp/bn-plain8.nnm" "$tmp/bn-np3-8.nnm" || bits_differ=yes
    a=$(accuracy bn-plain8) b=$(accuracy bn-np3-8)
    if awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d <= 2 && d >= -2) }'; then
        echo "ok: bn: 3 processes, --shards 8: test accuracy $b%, mnist_train --shards 8 $a% (within 2 points; bits differ: $bits_differ)"
    else
        fail "bn: 3 processes, --shards 8: test accuracy $b%, mnist_train --shards 8 $a%"
    fi
    refused too-many 2 "3 processes but --shards 2" 3 --shards 2
    refused sweep 2 "--sweep trains one run after another" 2 --sweep lr=0.1,0.2 --report "$tmp/sw"
    ;;
dropout)
    bits "$drop" dropout
    ;;
cifar)
    make_cifar "$tmp/cifar" 40 50
    small=(--data "$tmp/cifar" --model "conv3x3x8p1,bn,relu,pool2,dropout0.2,dense10"
           --epochs 2 --batch 24 --threads 1 --no-diagnostics)
    "$bin/cifar10_train" "${small[@]}" --quiet --save "$tmp/cifar-plain.nnm" >"$tmp/cifar-plain.out" 2>&1 ||
        fail "cifar10_train exited with $?"
    for np in 2 3; do
        "$mpiexec" -n "$np" "${flags[@]}" "$bin/cifar10_train_mpi" "${small[@]}" \
            --save "$tmp/cifar-np$np.nnm" >"$tmp/cifar-np$np.out" 2>&1 ||
            fail "cifar10_train_mpi on $np processes exited with $?"
        grep -Eq "^exchange: [1-9][0-9]* sums" "$tmp/cifar-np$np.out" ||
            fail "cifar: no exchange between the $np processes"
        same cifar-plain.nnm "cifar-np$np.nnm" "cifar: $np processes = cifar10_train (crops, flips)"
    done
    ;;
kill)
    # a long run; process 1 is killed once it trains
    "$mpiexec" -n 2 "${flags[@]}" "$bin/mnist_train_mpi" --data "$data" --epochs 20 \
        --model lenet --threads 1 --no-diagnostics >"$tmp/kill.out" 2>&1 &
    job=$!
    victim=""
    for _ in $(seq 100); do
        for p in $(ps -o pid= --ppid "$job" 2>/dev/null); do
            if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 ||
               tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx PMI_RANK=1; then
                victim=$p
            fi
        done
        [ -n "$victim" ] && grep -q "^training on" "$tmp/kill.out" && break
        sleep 0.2
    done
    if [ -z "$victim" ]; then
        kill "$job" 2>/dev/null || true
        wait "$job" || true
        fail "kill: no process of rank 1 found under mpirun $job"
    else
        sleep 1
        kill -9 "$victim"
        start=$SECONDS
        while kill -0 "$job" 2>/dev/null && [ $((SECONDS - start)) -lt 20 ]; do
            sleep 0.2
        done
        if kill -0 "$job" 2>/dev/null; then
            kill "$job" || true
            wait "$job" || true
            fail "kill: mpirun still runs 20 s after process 1 was killed"
        else
            status=0
            wait "$job" || status=$?
            if [ "$status" -eq 0 ]; then
                fail "kill: mpirun exited with 0 after process 1 was killed"
            else
                echo "ok: kill: mpirun ended with status $status $((SECONDS - start)) s after kill -9 of process 1"
            fi
        fi
    fi
    ;;
resume)
    half=(--model "$bn" --schedule constant)
    mpi uncut 2 "${half[@]}" --save "$tmp/uncut.nnm"
    mpi first 2 "${half[@]}" --epochs 1 --checkpoint "$tmp/half.ckpt"
    for np in 1 4; do
        mpi "resumed-np$np" "$np" "${half[@]}" --resume "$tmp/half.ckpt" \
            --save "$tmp/resumed-np$np.nnm"
        same uncut.nnm "resumed-np$np.nnm" "resume: 2 processes' checkpoint continued on $np"
    done
    ;;
residual)
    python3 "$(dirname "$0")/make_mnist.py" "$tmp/mnist" 96 50
    make_cifar "$tmp/cifar" 16 20
    common=(--data "$tmp/mnist" --batch 32 --epochs 2 --threads 1 --no-diagnostics)
    rs=(--model resnet-small --schedule constant)
    plain rs-plain "${rs[@]}" --save "$tmp/rs-plain.nnm"
    for np in 1 2 3 4; do
        mpi "rs-np$np" "$np" "${rs[@]}" --save "$tmp/rs-np$np.nnm"
        same rs-plain.nnm "rs-np$np.nnm" "resnet-small: $np process(es) = mnist_train"
    done
    mpi rs-first 2 "${rs[@]}" --epochs 1 --checkpoint "$tmp/rs-half.ckpt"
    for np in 1 4; do
        mpi "rs-resumed-np$np" "$np" "${rs[@]}" --resume "$tmp/rs-half.ckpt" \
            --save "$tmp/rs-resumed-np$np.nnm"
        same rs-plain.nnm "rs-resumed-np$np.nnm" "resnet-small: 2 processes' checkpoint continued on $np"
    done
    r20=(--data "$tmp/cifar" --model resnet20 --epochs 1 --batch 16 --threads 1 --no-diagnostics)
    "$bin/cifar10_train" "${r20[@]}" --quiet --save "$tmp/r20-plain.nnm" >"$tmp/r20-plain.out" 2>&1 ||
        fail "cifar10_train --model resnet20 exited with $?"
    "$mpiexec" -n 2 "${flags[@]}" "$bin/cifar10_train_mpi" "${r20[@]}" \
        --save "$tmp/r20-np2.nnm" >"$tmp/r20-np2.out" 2>&1 ||
        fail "cifar10_train_mpi --model resnet20 on 2 processes exited with $?"
    grep -Eq "^exchange: [1-9][0-9]* sums" "$tmp/r20-np2.out" ||
        fail "resnet20: no exchange between the 2 processes"
    same r20-plain.nnm r20-np2.nnm "resnet20: 2 processes = cifar10_train"
    ;;
*)
    echo "usage: $0 exact|dropout|cifar|kill|resume|residual EXAMPLES_DIR MPIEXEC [FLAGS...]" >&2
    exit 2
    ;;
esac
if [ "$failed" -ne 0 ]; then
    for f in "$tmp"/*.out; do
        echo "== $f"
        tail -5 "$f"
    done
fi
exit "$failed"
