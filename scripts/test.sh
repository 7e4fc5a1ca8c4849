#!/usr/bin/env bash
# Set up everything the test-suite needs, from nothing, then run it:
#   1. system packages (OpenBLAS for MLX on Linux CPU, ffmpeg for compressed audio),
#   2. the main virtualenv (.venv: this package + test extra) and the reference virtualenv
#      (.venv-ref: torch 2.13.0 + the official qwen-asr 0.0.6, which pins transformers 4.57.6),
#   3. the golden references (tests/reference/official/* in .venv-ref, tests/reference/hf_native/* in .venv),
#   4. pytest, with OpenBLAS preloaded. Arguments are passed on to pytest.
# Every step is cached (stamps in .cache/), so a re-run only runs the tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
CACHE="$ROOT/.cache"
REFERENCES="${MLX_ASR_REFERENCES:-$CACHE/references}"
TORCH_SPEC="torch==2.13.0"      # a local CPU wheel here; any other spec pulls gigabytes of CUDA wheels
OFFICIAL_SPEC="qwen-asr==0.0.6"
mkdir -p "$CACHE" "$REFERENCES"

say() { printf '\n== %s\n' "$*" >&2; }
# pip warns about every package that this machine's local mirror lacks; keep the log readable.
pip_install() { local pip="$1"; shift; "$pip" install -q "$@" 2> >(grep -v "^WARNING: Location '" >&2); }
fingerprint() { cat "$@" | sha256sum | cut -c1-16; }

# 1. System packages -----------------------------------------------------------------------------
OPENBLAS=""
if [ "$(uname -s)" = "Linux" ]; then
    MULTIARCH="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
    OPENBLAS="/usr/lib/$MULTIARCH/openblas-pthread/libopenblas.so.0"
    if [ ! -e "$OPENBLAS" ] || ! command -v ffmpeg >/dev/null; then
        say "installing system packages: libopenblas0-pthread ffmpeg"
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas0-pthread ffmpeg >/dev/null
    fi
fi

# 2. Virtualenvs ---------------------------------------------------------------------------------
ensure_venv() {  # ensure_venv DIR STAMP PIP_ARGS... (each PIP_ARGS group separated by ';')
    local dir="$1" stamp="$2"; shift 2
    if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then return; fi
    # Install on top of an existing venv (pip only adds what is missing); create it when absent.
    say "installing into $dir"
    [ -x "$dir/bin/pip" ] || "$PYTHON" -m venv "$dir"
    pip_install "$dir/bin/pip" --upgrade pip
    local group=()
    for arg in "$@" ";"; do
        if [ "$arg" = ";" ]; then
            [ ${#group[@]} -eq 0 ] || pip_install "$dir/bin/pip" "${group[@]}"
            group=()
        else
            group+=("$arg")
        fi
    done
    echo "$stamp" > "$dir/.stamp"
}
MAIN_STAMP="$( (cat pyproject.toml; echo "$TORCH_SPEC") | sha256sum | cut -c1-16)"
ensure_venv .venv "$MAIN_STAMP" "$TORCH_SPEC" ";" -e ".[test]"
REF_STAMP="$(printf '%s %s' "$TORCH_SPEC" "$OFFICIAL_SPEC" | sha256sum | cut -c1-16)"
ensure_venv .venv-ref "$REF_STAMP" "$TORCH_SPEC" ";" "$OFFICIAL_SPEC"

# 3. Golden references (each builder skips itself when its inputs are unchanged) -------------------
export MLX_ASR_REFERENCES="$REFERENCES"
for builder in tests/reference/official/*.py; do
    [ -e "$builder" ] || continue
    say "reference: $builder (official qwen-asr, .venv-ref)"
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv-ref/bin/python "$builder" --out "$REFERENCES"
done
for builder in tests/reference/hf_native/*.py; do
    [ -e "$builder" ] || continue
    say "reference: $builder (transformers' native Qwen3-ASR, .venv)"
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python "$builder" --out "$REFERENCES"
done

# 4. Tests ---------------------------------------------------------------------------------------
say "pytest"
[ -z "$OPENBLAS" ] || export LD_PRELOAD="$OPENBLAS"
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
