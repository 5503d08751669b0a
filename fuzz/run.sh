#!/usr/bin/env bash
# Runs the amlfw fuzzer for SECONDS (default 600), seeded with the examples and the golden
# scenarios. cargo fuzz needs nightly features; on a stable toolchain RUSTC_BOOTSTRAP=1
# enables them. Crashes land in fuzz/artifacts/pipeline/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
mkdir -p corpus/pipeline
cp ../examples/*.yaml corpus/pipeline/
for dir in ../golden/*/; do
  [ -f "$dir/scenario.yaml" ] && cp "$dir/scenario.yaml" "corpus/pipeline/$(basename "$dir").yaml"
done
RUSTC_BOOTSTRAP=1 cargo fuzz run pipeline corpus/pipeline -- -max_total_time="$seconds" -max_len=8192 -timeout=10
