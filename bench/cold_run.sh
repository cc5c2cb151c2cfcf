#!/usr/bin/env bash
# Cold pipeline timing: build the synthetic world, then `harness run --method palign`, on an
# empty store, then a rerun with only an evaluation setting changed (only eval recomputes).
# Targets (issues #3 and #6): bootstrap <= 5 min, cold palign run <= 15 min on 2 CPU cores.
set -euo pipefail
store="${1:-$(mktemp -d)}"
export HARNESS_STORE="$store" HF_HUB_OFFLINE=1
rm -rf "$store" && mkdir -p "$store"
t0=$(date +%s)
harness bootstrap > "$store/bootstrap.log" 2>&1
t1=$(date +%s)
harness run --method palign --json "$store/palign.json" > "$store/run.log" 2>&1
t2=$(date +%s)
harness run --method palign --set eval.sampling.max_new_tokens=150 > "$store/rerun.log" 2>&1
t3=$(date +%s)
echo "bootstrap: $((t1 - t0)) s"
echo "palign run after bootstrap: $((t2 - t1)) s (cold total $((t2 - t0)) s)"
echo "rerun with an eval setting changed: $((t3 - t2)) s; stages:"
grep -oE "(reused|computing) [a-z]+" "$store/rerun.log" | sort | uniq -c
