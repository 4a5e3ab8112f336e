#!/usr/bin/env python3
"""Medians per system from run_suno_abab.sh's results: summarize_suno.py RES/suno.jsonl RES/barksharp.jsonl
Only clean runs count (no other process used more than 3 CPU-s + 2 % of the run's wall time)."""
import json
import statistics
import sys
from collections import defaultdict

rows = defaultdict(list)
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        if not r.get("clean"):
            continue
        if "report" in r:  # bark bench, through ../shared/peer-bench/bench_barksharp.py
            rep, st = r["report"], r["report"]["stages"]
            rows[r["tag"]].append(dict(
                total=rep["total_seconds"], semantic_prefill=st["semantic_prefill"]["seconds"],
                coarse_prefill=st["coarse_prefill"]["seconds"], fine=st["fine"]["seconds"], codec=st["codec"]["seconds"],
                sem_ms=st["semantic_decode"]["ms_per_token"], coarse_ms=st["coarse_decode"]["ms_per_token"]))
        elif "total_s" in r:
            rows[r["tag"]].append(dict(
                total=r["total_s"], semantic_prefill=r["semantic_prefill_s"], coarse_prefill=r["coarse_prefill_s"],
                fine=r["fine_s"], codec=r["codec_s"], sem_ms=r["semantic_decode_ms_per_token"],
                coarse_ms=r["coarse_decode_ms_per_token"]))
cols = ["total", "semantic_prefill", "coarse_prefill", "fine", "codec", "sem_ms", "coarse_ms"]
print("| system | runs | total s | semantic prefill s | coarse prefill s | fine s | codec s | decode ms/token (semantic / coarse) |")
print("|---|---|---|---|---|---|---|---|")
for tag, rs in sorted(rows.items()):
    m = {c: statistics.median(x[c] for x in rs) for c in cols}
    print(f"| {tag} | {len(rs)} | {m['total']:.1f} | {m['semantic_prefill']:.2f} | {m['coarse_prefill']:.2f} | {m['fine']:.2f} | "
          f"{m['codec']:.2f} | {m['sem_ms']:.1f} / {m['coarse_ms']:.1f} |")
