#!/usr/bin/env bash
# An installed libnn, used from outside the tree:
#   test_install.sh SOURCE_DIR BINARY_DIR VERSION
# installs the build in BINARY_DIR into a temporary prefix (then moves it:
# the packages must not depend on where they were installed), builds
# tests/install's two programs against it by hand with pkg-config and with
# CMake's find_package(nn), runs both builds (the version, and the README's
# first network learning XOR), and runs the installed tools. Needs no network;
# ${CC:-cc} compiles.
set -u
src=$1 bin=$2 version=$3
cc=${CC:-cc}
unset DESTDIR # installs into the temporary prefix only
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
version_re=${version//./\\.}

step() { # step WHAT COMMAND...: runs it, its output in $tmp/log; stops at a failure
    local what=$1
    shift
    if ! "$@" >"$tmp/log" 2>&1; then
        echo "FAIL $what: $*"
        sed 's/^/  | /' "$tmp/log" | tail -20
        exit 1
    fi
    echo "ok   $what"
}

expect() { # expect WHAT PATTERN: a line of the last step's output matches
    if ! grep -qE -- "$2" "$tmp/log"; then
        echo "FAIL $1: no line matches /$2/"
        sed 's/^/  | /' "$tmp/log" | tail -20
        exit 1
    fi
    echo "ok   $1: $(grep -m1 -E -- "$2" "$tmp/log")"
}

run_programs() { # run_programs HOW DIR: the two programs built in DIR
    step "$1: show_version runs" "$2/show_version"
    expect "$1: version" "^libnn $version_re \(header $version_re\)$"
    step "$1: first_network runs" "$2/first_network"
    expect "$1: XOR learned" "^1 xor 1 -> 0 "
    expect "$1: XOR learned" "^0 xor 1 -> 1 "
}

step "cmake --install" cmake --install "$bin" --prefix "$tmp/staging"
mv "$tmp/staging" "$prefix"
libdir=$(dirname "$(find "$prefix" -name libnn.a)")
for f in include/nn.h include/nn/core.h include/nn/net.h include/nn/optim.h \
    include/nn/data.h include/nn/train.h include/nn/io.h include/nn/layers.h \
    include/nn/quant.h \
    include/nn/advanced.h "${libdir#"$prefix"/}/libnn.a" "${libdir#"$prefix"/}/pkgconfig/nn.pc" \
    "${libdir#"$prefix"/}/cmake/nn/nnConfig.cmake" \
    "${libdir#"$prefix"/}/cmake/nn/nnConfigVersion.cmake"; do
    [ -f "$prefix/$f" ] || { echo "FAIL not installed: $f"; exit 1; }
done
echo "ok   installed: $(cd "$prefix" && find . -type f | sort | tr '\n' ' ')"
if grep -rlF -e "$src" -e "$bin" "$prefix/include" "$libdir/pkgconfig" "$libdir/cmake"; then
    echo "FAIL the files above point into the source or build tree"
    exit 1
fi
echo "ok   nothing installed points into the source or build tree"

# 1. By hand: cc $(pkg-config --cflags --libs --static nn), as a user types it.
export PKG_CONFIG_PATH=$libdir/pkgconfig
step "pkg-config --modversion" pkg-config --modversion nn
expect "pkg-config version" "^$version_re$"
flags=$(pkg-config --cflags --libs --static nn)
echo "ok   pkg-config --cflags --libs --static nn: $flags"
for want in "-I$prefix" "-lnn" "-lm" "-pthread"; do
    case " $flags " in
    *" $want"*) ;;
    *) echo "FAIL pkg-config flags lack $want"; exit 1 ;;
    esac
done
mkdir "$tmp/by-hand"
for program in show_version first_network; do
    file=$src/tests/install/$program.c
    [ -f "$file" ] || file=$src/examples/$program.c
    # shellcheck disable=SC2086 # the flags are words
    step "pkg-config: cc $program.c" "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror "$file" \
        $flags -o "$tmp/by-hand/$program"
done
run_programs pkg-config "$tmp/by-hand"

# 2. CMake: find_package(nn CONFIG REQUIRED) and target_link_libraries(... nn::nn).
step "find_package: configure" cmake -S "$src/tests/install" -B "$tmp/cmake" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix"
expect "find_package: the installed package" "libnn $version_re from $prefix/"
step "find_package: build" cmake --build "$tmp/cmake"
run_programs find_package "$tmp/cmake"

# 3. The installed command-line tools, where the build has them.
if grep -q '^NN_BUILD_EXAMPLES:BOOL=ON' "$bin/CMakeCache.txt"; then
    for tool in mnist_train cifar10_train predict nn_compare; do
        step "$tool --help" "$prefix/bin/$tool" --help
        expect "$tool --help" "[Uu]sage"
    done
    [ -x "$prefix/bin/nn_bench" ] || { echo "FAIL nn_bench not installed"; exit 1; }
    echo "ok   nn_bench installed"
fi
echo "PASS"
