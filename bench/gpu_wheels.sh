#!/usr/bin/env bash
# Prepare, here (where PyPI is reachable), what bench/gpu_check.py needs on the GPU machine,
# which reaches nothing: Python 3.12 on x86-64 Linux, with torch 2.11 and transformers 5.17
# preinstalled but no trl, datasets, math-verify, pebble or lm-eval.
#
#   bash bench/gpu_wheels.sh [DIR]          # wheels into DIR (default: .whl in the repository root)
#
# 1. the wheels, downloaded into DIR;
# 2. the benchmark JSONL files (aime24, aime25, amc12, math500), copied from ../shared/benchmarks
#    (or $BENCHMARKS_SRC) into .gpu_data/benchmarks (or $GPU_DATA_DIR): ../shared does not travel.
#
# Neither is ever committed: each folder gets its own .gitignore ("*"), so git ignores
# everything in it and the device tool can `carry` it. Versions are the ones this project
# is tested with (the local virtualenv; pyproject.toml's lower bounds). transformers 5.24
# replaces the machine's 5.17 (pyproject asks for >= 5.23), with regex, which transformers
# checks at import. pyarrow and pandas are NOT shipped (their 3.12 wheels are 64 MiB together,
# the whole carry limit); the machine has both. Everything else the harness imports is on the machine already.
#
# On the GPU machine, first in the command:
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
#       --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/.whl}"
mkdir -p "$dest"
printf '*\n' > "$dest/.gitignore"

# name==version, one per line; pure-python ones are py3-none-any wheels.
WHEELS=(
    transformers==5.24.0
    regex==2026.11.19
    trl==1.16.0
    peft==0.21.2
    datasets==5.2.0
    dill==0.4.1
    multiprocess==0.70.19
    math-verify==0.9.0
    latex2sympy2_extended==1.11.0
    antlr4-python3-runtime==4.13.2
    pebble==5.2.3
)

for spec in "${WHEELS[@]}"; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$dest" "$spec" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
done

# The benchmark files: the pipeline phase reads them, and the tokenizer is trained on them.
src="${BENCHMARKS_SRC:-$root/../shared/benchmarks}"
data="${GPU_DATA_DIR:-$root/.gpu_data}"
mkdir -p "$data/benchmarks"
printf '*\n' > "$data/.gitignore"
for name in aime24 aime25 amc12 math500; do
    install -m 0644 "$src/$name.jsonl" "$data/benchmarks/$name.jsonl"
done

# One version of each: two wheels of one package stop the whole install there.
dupes="$(ls "$dest"/*.whl | xargs -n1 basename | cut -d- -f1 | tr 'A-Z-' 'a-z_' | sort | uniq -d)"
if [ -n "$dupes" ]; then
    echo "error: more than one wheel of: $dupes (empty $dest and run again)" >&2
    exit 1
fi

# What travels: the repository's tracked files plus the wheels, against the tool's 64 MiB.
wheels=$(du -cb "$dest"/*.whl "$data"/benchmarks/*.jsonl | tail -1 | cut -f1)
tracked=$(cd "$root" && git ls-files -z | xargs -0 du -cb 2>/dev/null | awk '/total$/ {s += $1} END {print s + 0}')
echo "wheels: $(ls "$dest"/*.whl | wc -l) files in $dest; benchmarks in $data/benchmarks; $((wheels / 1024 / 1024)) MiB together"
echo "tracked files: $((tracked / 1024 / 1024)) MiB; together: $(((wheels + tracked) / 1024 / 1024)) MiB of 64 MiB"
if [ $((wheels + tracked)) -gt $((48 * 1024 * 1024)) ]; then
    echo "error: over 48 MiB together, too close to the 64 MiB the device tool carries" >&2
    exit 1
fi
