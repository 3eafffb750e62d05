#!/usr/bin/env bash
# make bench: builds the release binaries (host, for timing) and the zipped arm64 functions
# (for size), then runs the benchmarks against the local emulator (started by the Makefile).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.venv/bin:$PATH"
echo "[bench] release build of both functions, the hello-world reference and the bench (LTO: takes a while)" >&2
cargo build --release -p connection-approver -p cost-reporter -p plgov-bench
target=$(cargo metadata --format-version 1 --no-deps | "$root/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# BENCH_ARM64=0 leaves out the arm64 build (a second release build of everything; only the
# sizes need it): the sizes then read "not built in this run".
if [ "${BENCH_ARM64:-1}" != 0 ]; then
  echo "[bench] cargo lambda build --release --arm64 (zipped, as deployed)" >&2
  cargo lambda build --release --arm64 --output-format zip -p connection-approver -p cost-reporter
else
  rm -f "$target/lambda/connection-approver/bootstrap.zip" "$target/lambda/cost-reporter/bootstrap.zip"
fi
mkdir -p bench
"$target/release/plgov-bench" \
  --approver "$target/release/connection-approver" \
  --reporter "$target/release/cost-reporter" \
  --hello "$target/release/hello-lambda" \
  --approver-zip "$target/lambda/connection-approver/bootstrap.zip" \
  --reporter-zip "$target/lambda/cost-reporter/bootstrap.zip" \
  --results bench/results.json
echo "[bench] results written to bench/results.json" >&2
