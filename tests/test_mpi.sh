#!/usr/bin/env bash
# Distributed training end to end (label mpi):
#   test_mpi.sh BUILD_EXAMPLES_DIR PART
# PART bits:   the same short training on 1, 2, 3 and 4 processes against
#              plain mnist_train, by cmp of the saved models: identical when
#              shards / processes is a power of two (4 shards on 1, 2, 4;
#              12 shards on 3), for a net with batchnorm and one with
#              dropout. 3 processes on 8 shards hold 2, 3 and 3, which is
#              not the tree's cut: there the weights differ in the last bits
#              and the test accuracy agrees within 0.5 points.
# PART kill:   kill -9 of one process mid-run ends the job with an error
#              within 30 s.
# PART resume: a 2-process run checkpointed after epoch 1 of 2, resumed on 1
#              and on 4 processes, gives the uninterrupted run's model.
# Fashion-MNIST from /usr/share/datasets/fashion-mnist (tests/run.sh
# installs it).
set -u
bin=$1
part=$2
data=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
passes=0
# As root Open MPI wants --allow-run-as-root; more processes than cores
# need --oversubscribe.
mpirun=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
common=(--data "$data" --limit 1200 --batch 64 --threads 1 --quiet --no-diagnostics)

ok() { passes=$((passes + 1)); }
fail() {
    failures=$((failures + 1))
    echo "FAIL $1"
    [ -f "$tmp/err" ] && sed 's/^/  | /' "$tmp/err" | tail -10
}

# run NAME COMMAND...: exit 0 expected, output in $tmp/out and $tmp/err
run() {
    local name=$1
    shift
    if "$@" >"$tmp/out" 2>"$tmp/err"; then ok; else fail "$name (exit $?)"; fi
}

same() { # same NAME FILE1 FILE2
    if cmp -s "$2" "$3"; then ok; else fail "$1: $2 and $3 differ"; fi
}

accuracy() { # the test accuracy a run printed, in %
    grep -oE "test accuracy: [0-9.]+" "$1" | grep -oE "[0-9.]+$"
}

case "$part" in
bits)
    for model in "conv3x3x8p1,bn,relu,pool2,conv3x3x8,bn,relu,pool2,dense10" \
                 "conv5x5x8p2,relu,pool2,dropout0.25,dense32,relu,dropout0.5,dense10"; do
        tag=$(echo "$model" | cut -c1-12 | tr -c 'a-z0-9\n' '_')
        for shards in 4 12; do
            run "one_${tag}_$shards" "$bin/mnist_train" "${common[@]}" --model "$model" \
                --epochs 2 --shards "$shards" --save "$tmp/one_$shards.nnm"
            cp "$tmp/out" "$tmp/one_$shards.out"
        done
        for np in 1 2 4; do
            run "np${np}_$tag" "${mpirun[@]}" -np "$np" "$bin/mnist_train_mpi" "${common[@]}" \
                --model "$model" --epochs 2 --save "$tmp/np$np.nnm"
            same "np${np}_${tag}_bits" "$tmp/one_4.nnm" "$tmp/np$np.nnm"
        done
        run "np3_${tag}_12" "${mpirun[@]}" -np 3 "$bin/mnist_train_mpi" "${common[@]}" \
            --model "$model" --epochs 2 --shards 12 --save "$tmp/np3.nnm"
        same "np3_${tag}_12_bits" "$tmp/one_12.nnm" "$tmp/np3.nnm"
        # 3 processes on 8 shards hold 2, 3 and 3: not the tree's cut
        run "one_${tag}_8" "$bin/mnist_train" "${common[@]}" --model "$model" \
            --epochs 2 --shards 8 --save "$tmp/one_8.nnm"
        cp "$tmp/out" "$tmp/one_8.out"
        "${mpirun[@]}" -np 3 "$bin/mnist_train_mpi" "${common[@]}" --model "$model" \
            --epochs 2 --shards 8 --save "$tmp/np3_8.nnm" >"$tmp/out" 2>"$tmp/err" &&
            ok || fail "np3_${tag}_8"
        if cmp -s "$tmp/one_8.nnm" "$tmp/np3_8.nnm"; then
            fail "np3_${tag}_8: identical, but 8 / 3 does not line up with the tree"
        else
            ok
        fi
        a=$(accuracy "$tmp/one_8.out")
        b=$(accuracy "$tmp/out")
        echo "3 processes on 8 shards, $model: test accuracy $b% (one process: $a%)"
        if awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(d < 0.5 && d > -0.5) }'; then
            ok
        else
            fail "np3_${tag}_8 accuracy $b% vs $a%"
        fi
    done
    # what cannot work is refused with a message
    "${mpirun[@]}" -np 3 "$bin/mnist_train_mpi" "${common[@]}" --shards 2 \
        >"$tmp/out" 2>"$tmp/err"
    if [ $? -ne 0 ] && grep -q "3 processes but --shards 2" "$tmp/err"; then ok; else
        fail "more processes than shards is refused"; fi
    ;;
kill)
    # a run long enough to be killed in the middle
    "${mpirun[@]}" -np 2 "$bin/mnist_train_mpi" --data "$data" --threads 1 \
        --model lenet --epochs 50 --no-diagnostics >"$tmp/out" 2>"$tmp/err" &
    job=$!
    victim=""
    for _ in $(seq 1 100); do
        victim=$(pgrep -n -x mnist_train_mpi)
        [ -n "$victim" ] && grep -q "distributed: 2 processes" "$tmp/out" && break
        sleep 0.2
    done
    sleep 2
    if [ -z "$victim" ]; then
        fail "kill: no process to kill"
        kill "$job" 2>/dev/null
    else
        kill -9 "$victim"
        start=$(date +%s)
        for _ in $(seq 1 300); do
            kill -0 "$job" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$job" 2>/dev/null; then
            fail "kill: the job still runs 30 s after one process was killed"
            pkill -9 -x mnist_train_mpi 2>/dev/null
        else
            wait "$job"
            status=$?
            echo "kill: mpirun ended with status $status $(($(date +%s) - start)) s after the kill"
            if [ "$status" -ne 0 ]; then ok; else fail "kill: mpirun reported success"; fi
        fi
    fi
    ;;
resume)
    model="conv3x3x8p1,bn,relu,pool2,dropout0.2,dense10"
    # a constant rate: a 1-epoch run is then the first epoch of a 2-epoch one
    common+=(--schedule constant --lr 0.02)
    run straight "${mpirun[@]}" -np 2 "$bin/mnist_train_mpi" "${common[@]}" --model "$model" \
        --epochs 2 --save "$tmp/straight.nnm"
    run first_epoch "${mpirun[@]}" -np 2 "$bin/mnist_train_mpi" "${common[@]}" --model "$model" \
        --epochs 1 --checkpoint "$tmp/run.ckpt"
    run resume_on_1 "$bin/mnist_train" "${common[@]}" --model "$model" --epochs 2 \
        --resume "$tmp/run.ckpt" --save "$tmp/on1.nnm"
    same resume_on_1_bits "$tmp/straight.nnm" "$tmp/on1.nnm"
    run resume_on_4 "${mpirun[@]}" -np 4 "$bin/mnist_train_mpi" "${common[@]}" --model "$model" \
        --epochs 2 --resume "$tmp/run.ckpt" --save "$tmp/on4.nnm"
    same resume_on_4_bits "$tmp/straight.nnm" "$tmp/on4.nnm"
    ;;
*)
    echo "unknown part $part"
    exit 2
    ;;
esac

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
