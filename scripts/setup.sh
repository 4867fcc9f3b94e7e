#!/usr/bin/env bash
# Sets up ompilot on Debian 12 and runs it once on the bundled corpus.
#
#   scripts/setup.sh            install what is missing, then: ompilot scan corpus/ and
#                               ompilot suggest corpus/matmul_naive.c --diff (verified)
#   scripts/setup.sh --no-demo  install what is missing only
#
# Idempotent and quick when nothing changed: system packages are checked with
# dpkg first, and pip runs only when pyproject.toml changed since the last run.
# Exit codes: 0 ok, 2 environment problem (the message says what to do),
# otherwise whatever ompilot returned when it failed (its 1, "found something", counts as success).
set -euo pipefail

# slurm-wlm and munge: the test suite starts a single-node Slurm cluster of its
# own (munged, slurmctld, slurmd on loopback ports, tests/slurm_cluster.py).
# Installing them starts no usable system daemon that could disturb it: Debian's
# slurmd/slurmctld units and init scripts do nothing without /etc/slurm/slurm.conf
# (never written here), and a system munged (systemd starts one) listens on
# /run/munge only, while the tests' cluster uses its own key and socket.
readonly SYSTEM_PACKAGES=(clang-19 clang-tools-19 llvm-19 libomp-19-dev libclang-rt-19-dev gcc g++ git
    slurm-wlm munge)
readonly SLURM_PROGRAMS=(sbatch squeue sacct scancel sinfo scontrol /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged)
readonly ARCHER=/usr/lib/llvm-19/lib/libarcher.so
readonly STAMP_NAME=.ompilot-setup-stamp

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 2; }

usage() {
    sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

demo=1
for arg in "$@"; do
    case "$arg" in
        --no-demo) demo=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || die "cannot find the repository root"
cd "$repo_root"
[[ -f pyproject.toml ]] || die "$repo_root/pyproject.toml not found; run this script from an ompilot checkout"

# --- system packages --------------------------------------------------------

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "root is needed to install system packages (run as root or install sudo): $*"
    fi
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 /usr/bin/python3; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

venv_ok() {
    [[ -x .venv/bin/python ]] && .venv/bin/python -c 'import sys' >/dev/null 2>&1
}

missing_packages() {
    local pkg python
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        is_installed "$pkg" || echo "$pkg"
    done
    if ! venv_ok; then
        # A venv is to be created: needs python3 >= 3.10 with venv and ensurepip.
        if ! python="$(find_python)"; then
            echo python3
            echo python3-venv
        elif ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            echo python3-venv
        fi
    fi
}

install_system_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        say "not a Debian system (no dpkg/apt-get): skipping package installation, checking the tools only"
        return 0
    fi
    local missing
    mapfile -t missing < <(missing_packages | sort -u)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    say "installing system packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -q update ||
        die "apt-get update failed; check the network and /etc/apt/sources.list"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
        install --no-install-recommends "${missing[@]}" ||
        die "apt-get install ${missing[*]} failed (Debian 12 'bookworm' main has all of them)"
}

# --- Python environment -----------------------------------------------------

create_venv() {
    if venv_ok; then
        return 0
    fi
    local python
    python="$(find_python)" || die "no python3 >= 3.10 found; install python3 (Debian 12 ships 3.11)"
    if [[ -e .venv ]]; then
        say ".venv is broken (its python does not run); recreating it"
        rm -rf .venv
    fi
    say "creating .venv with $python ($("$python" -c 'import platform; print(platform.python_version())'))"
    "$python" -m venv .venv || die "python -m venv failed; on Debian install python3-venv"
}

stamp_value() {
    {
        sha256sum pyproject.toml
        .venv/bin/python -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

install_package() {
    local stamp=".venv/$STAMP_NAME" want
    want="$(stamp_value)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
        .venv/bin/python -c 'import importlib.util as u; assert u.find_spec("ompilot.analysis")' >/dev/null 2>&1; then
        return 0
    fi
    say "installing ompilot and its dependencies into .venv (pip install -e '.[dev]')"
    rm -f "$stamp"
    PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/python -m pip install -q -e '.[dev]' ||
        die "pip install -e '.[dev]' failed (see above); PyPI must be reachable"
    printf '%s\n' "$want" >"$stamp"
}

# --- toolchain check ----------------------------------------------------------

verify_toolchain() {
    command -v clang-19 >/dev/null 2>&1 || die "clang-19 not found on PATH; install the Debian package clang-19"
    local resource_dir
    if ! resource_dir="$(clang-19 -print-resource-dir 2>/dev/null)" || [[ ! -d "$resource_dir" ]]; then
        die "clang-19 -print-resource-dir failed; reinstall clang-19"
    fi
    [[ -f "$ARCHER" ]] || die "$ARCHER is missing; install libomp-19-dev"
    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand now: tmp is local
    trap "rm -rf '$tmp'" EXIT
    printf '#include <omp.h>\nint main(void) { int n = 0;\n#pragma omp parallel reduction(+:n)\n n++;\n return n == 0; }\n' >"$tmp/probe.c"
    clang-19 -fopenmp -o "$tmp/probe" "$tmp/probe.c" 2>"$tmp/log" ||
        die "clang-19 -fopenmp cannot build a program (install libomp-19-dev): $(tail -n 1 "$tmp/log")"
    clang-19 -fopenmp -fsanitize=thread -o "$tmp/probe-tsan" "$tmp/probe.c" 2>"$tmp/log" ||
        die "clang-19 -fsanitize=thread cannot link (install libclang-rt-19-dev): $(tail -n 1 "$tmp/log")"
    rm -rf "$tmp"
    trap - EXIT
}

verify_slurm() {
    local program
    for program in "${SLURM_PROGRAMS[@]}"; do
        command -v "$program" >/dev/null 2>&1 ||
            die "$program not found; install the Debian packages slurm-wlm and munge"
    done
}

install_system_packages
create_venv
install_package
verify_toolchain
verify_slurm
say "ready: toolchain $(clang-19 --version | head -n 1), $(.venv/bin/python --version), Slurm client and daemons"

if [[ $demo -eq 1 ]]; then
    [[ -x .venv/bin/ompilot ]] || die ".venv/bin/ompilot is missing; delete .venv/$STAMP_NAME and run this script again"
    say "running: .venv/bin/ompilot scan corpus/"
    # Exit 1 means "loops to parallelize were found": the expected result here.
    status=0
    .venv/bin/ompilot scan corpus/ || status=$?
    [[ $status -le 1 ]] || exit "$status"
    say "loops marked 'parallel' can take the pragma shown beside them"
    say "running: .venv/bin/ompilot suggest corpus/matmul_naive.c --diff (builds, race-checks and times each change)"
    status=0
    .venv/bin/ompilot suggest corpus/matmul_naive.c --diff || status=$?
    [[ $status -le 1 ]] || exit "$status"
    say "done: the diff above holds only changes that passed every check; apply it with git apply"
fi
