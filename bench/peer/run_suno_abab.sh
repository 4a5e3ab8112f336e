#!/usr/bin/env bash
# Alternates `bark bench` and the original Python Bark (bench_suno_bark.py) on the same pinned workload, one run
# per system per round, each started only when the machine is idle (<5 % CPU over 5 s).
#   ROUNDS=3 THREADS=2 SYSTEMS="suno-fp32 bs-f32 bs-int8 bs-bf16" BS_CLI=/tmp/bs-cli/bark.dll \
#   SUNO_SRC=/tmp/sunobark ENCODEC_SRC=/tmp/encodec_src OPENBLAS_DIR=/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-openmp \
#   RES=/tmp/peer-suno bash bench/peer/run_suno_abab.sh
# BarkSharp runs through ../shared/peer-bench/bench_barksharp.py (its contention guard; one JSON line per attempt).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEER="${PEER:-$HERE/../../../shared/peer-bench}"
ROUNDS="${ROUNDS:-3}"; THREADS="${THREADS:-2}"; SYSTEMS="${SYSTEMS:-suno-fp32 bs-f32 bs-int8 bs-bf16}"
BS_CLI="${BS_CLI:-/tmp/bs-cli/bark.dll}"; SUNO_SRC="${SUNO_SRC:?suno-ai/bark sources}"; ENCODEC_SRC="${ENCODEC_SRC:?encodec sources}"
OPENBLAS_DIR="${OPENBLAS_DIR:?folder holding OpenBLAS libblas.so.3}"; WAIT="${WAIT:-600}"
RES="${RES:-/tmp/peer-suno}"; mkdir -p "$RES"
for round in $(seq 1 "$ROUNDS"); do
  for sys in $SYSTEMS; do
    echo "== round $round $sys t$THREADS $(date +%T)"
    case "$sys" in
      bs-*) python3 "$PEER/bench_barksharp.py" --cli "$BS_CLI" --weights "${sys#bs-}" --threads "$THREADS" --reps 1 \
              --max-extra 2 --wait-quiet "$WAIT" --tag "barksharp-${sys#bs-}-t$THREADS" --out "$RES/barksharp.jsonl" | cut -c1-200 ;;
      suno-*) OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-SkylakeX}" LD_LIBRARY_PATH="$OPENBLAS_DIR" /usr/bin/python3 -W ignore \
              "$HERE/bench_suno_bark.py" --suno "$SUNO_SRC" --encodec "$ENCODEC_SRC" --threads "$THREADS" --reps 1 --warmup 1 \
              --wait-quiet "$WAIT" --dtype "$([ "$sys" = suno-bf16 ] && echo bfloat16 || echo float32)" \
              --tag "$sys-t$THREADS" --out "$RES/suno.jsonl" 2>/dev/null | grep -E '^MEDIAN|"total_s"' | cut -c1-200 ;;
    esac
  done
done
echo "== done $(date +%T)"
