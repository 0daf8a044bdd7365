# Sourced by fetch_mnist.sh and fetch_cifar10.sh.
# shellcheck shell=sh

# Prints the MD5 of a file (GNU coreutils, or md5 on BSD and macOS).
md5_of() {
    if command -v md5sum >/dev/null 2>&1; then
        md5sum "$1" | cut -d ' ' -f 1
    else
        md5 -q "$1"
    fi
}

# Fetches a URL into a file with curl or wget; fails on HTTP errors.
download() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -T 20 -t 2 -O "$2" "$1"
    else
        echo "$(basename "$0" .sh): neither curl nor wget is installed" >&2
        return 1
    fi
}
