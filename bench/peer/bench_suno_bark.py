#!/usr/bin/env python3
"""CPU speed of the original Python Bark (suno-ai/bark's own model and generation code, PyTorch) on random
weights of the real bark-small shapes, on the same pinned workload as `bark bench` and
../shared/peer-bench/bench_hf_bark.py:

  * semantic: 256 text tokens + 256 pad history + the infer token, merged to 257 positions by suno's
    `merge_context`; exactly 256 new tokens with the KV cache (1 prefill + 255 single-token forwards);
  * coarse: the standard sliding window (60, history 630) over 256 semantic tokens -> 768 coarse tokens in
    13 windows, KV cache on;
  * fine: one 1024 window, 6 codebook passes over 384 frames;
  * EnCodec 24 kHz decode of 8 x 384 codes (facebookresearch/encodec, the package suno's code calls).

Why this peer: Transformers' sources are too big to bring onto a build machine here, while suno-ai/bark and
facebookresearch/encodec are small. Both are imported from source folders; the packages they import only for
downloads, tokenizing and file I/O (transformers' BertTokenizer, huggingface_hub, funcy, torchaudio, einops) are
replaced by stand-ins written below: import-only, except einops' `rearrange`, whose one pattern on the decode
path (`b n d -> b d n`) is a transpose.
The timed code is suno's `generate_text_semantic`, `generate_coarse`, `generate_fine` and `codec_decode`
(with `use_kv_caching=True`, as suno's `generate_audio` offers), unchanged.

Setup (Debian): apt-get install python3-torch python3-numpy python3-scipy python3-tqdm; sources with
  git --git-dir=<mirror of suno-ai/bark> archive HEAD | tar x -C /tmp/sunobark
  git --git-dir=<mirror of facebookresearch/encodec> archive HEAD | tar x -C /tmp/encodec_src
and an optimized BLAS for torch (Debian's torch otherwise calls the reference BLAS), as in
../shared/peer-bench/README.md: LD_LIBRARY_PATH=<openblas-openmp dir>.
  /usr/bin/python3 bench/peer/bench_suno_bark.py --suno /tmp/sunobark --encodec /tmp/encodec_src --threads 2
Prints one JSON line per run (fields named like bark bench's --json where they mean the same).
"""
import argparse
import json
import os
import statistics
import sys
import time
import types

NOISE_FRAC = 0.02


def install_stand_ins():
    """Import-only modules for packages the timed code never calls."""
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    class BertTokenizer:  # generate_text_semantic only calls encode(); we hand it fixed ids
        @classmethod
        def from_pretrained(cls, *a, **k):
            return cls()

    module("transformers", BertTokenizer=BertTokenizer)
    module("huggingface_hub", hf_hub_download=lambda *a, **k: None)
    import functools
    module("funcy", partial=functools.partial)
    module("torchaudio")

    def rearrange(x, pattern, **k):  # the only pattern EnCodec's decode path uses
        if pattern.replace(" ", "") != "bnd->bdn":
            raise NotImplementedError(f"einops stand-in: {pattern}")
        return x.transpose(1, 2)

    module("einops", rearrange=rearrange, repeat=None)


def cpu_busy_s():
    with open("/proc/stat") as f:
        v = list(map(int, f.readline().split()[1:9]))
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_s():
    t = os.times()
    return t.user + t.system


def wait_quiet(max_wait_s, busy_frac=0.05, sample_s=5.0):
    t0 = time.time()
    while True:
        b0 = cpu_busy_s()
        time.sleep(sample_s)
        frac = (cpu_busy_s() - b0) / (sample_s * os.cpu_count())
        if frac < busy_frac or time.time() - t0 > max_wait_s:
            return round(frac, 3)


class FixedTokenizer:
    """Returns the same 256 text token ids for any text (the workload's pinned prompt)."""

    def __init__(self, ids):
        self.ids = ids

    def encode(self, text, add_special_tokens=False):
        return list(self.ids)


class ForwardTimer:
    """Wraps a sub-model's forward: first call after reset (or every call of the fine model) counts as prefill."""

    def __init__(self, model, name, fine=False):
        self.name, self.fine = name, fine
        self.inner = model.forward
        model.forward = self
        self.reset()

    def reset(self):
        self.prefill_s = self.decode_s = 0.0
        self.n_prefill = self.n_decode = self.prefill_positions = 0

    def __call__(self, *a, **k):
        t0 = time.perf_counter()
        out = self.inner(*a, **k)
        dt = time.perf_counter() - t0
        if self.fine:
            self.prefill_s += dt
            self.n_prefill += 1
            self.prefill_positions += a[1].shape[1]
        elif k.get("past_kv") is None:
            x = a[0]
            positions = x.shape[1] - 256 if k.get("merge_context") else x.shape[1]
            self.prefill_s += dt
            self.n_prefill += 1
            self.prefill_positions += positions
        else:
            self.decode_s += dt
            self.n_decode += 1
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suno", required=True, help="folder holding suno-ai/bark's sources (with bark/)")
    ap.add_argument("--encodec", required=True, help="folder holding facebookresearch/encodec's sources (with encodec/)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up runs (32 semantic tokens each)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                    help="dtype of the three GPTs (EnCodec stays float32)")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="suno")
    ap.add_argument("--out", help="append one JSON line per timed run")
    args = ap.parse_args()

    install_stand_ins()
    sys.path[:0] = [args.suno, args.encodec]
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    from bark import generation as g
    from bark.model import GPT, GPTConfig
    from bark.model_fine import FineGPT, FineGPTConfig
    from encodec import EncodecModel

    dtype = getattr(torch, args.dtype)
    torch.manual_seed(args.seed)
    small = dict(block_size=1024, n_layer=12, n_head=12, n_embd=768, dropout=0.0, bias=False)
    semantic = GPT(GPTConfig(input_vocab_size=129_600, output_vocab_size=10_048, **small)).eval().to(dtype)
    coarse = GPT(GPTConfig(input_vocab_size=12_096, output_vocab_size=12_096, **small)).eval().to(dtype)
    fine = FineGPT(FineGPTConfig(input_vocab_size=1_056, output_vocab_size=1_056, n_codes_total=8, n_codes_given=1,
                                 **small)).eval().to(dtype)
    codec = EncodecModel.encodec_model_24khz(pretrained=False)
    codec.set_target_bandwidth(6.0)
    codec.eval()
    if dtype != torch.float32:  # suno's sampling code runs softmax/multinomial on the logits it gets
        for m in (semantic, coarse, fine):
            inner = m.forward
            m.forward = (lambda f: lambda *a, **k: (lambda o: (o[0].float(), o[1]) if isinstance(o, tuple) else o.float())(f(*a, **k)))(inner)
    gen = torch.Generator().manual_seed(args.seed)
    text_ids = torch.randint(0, 119_547, (256,), generator=gen).tolist()
    g.models["text"] = {"model": semantic, "tokenizer": FixedTokenizer(text_ids)}
    g.models["coarse"], g.models["fine"], g.models["codec"] = coarse, fine, codec
    timers = {"semantic": ForwardTimer(semantic, "semantic"), "coarse": ForwardTimer(coarse, "coarse"),
              "fine": ForwardTimer(fine, "fine", fine=True)}

    def run(semantic_tokens):
        for t in timers.values():
            t.reset()
        stage = {}
        t0 = time.perf_counter()
        with torch.inference_mode():
            s = time.perf_counter()
            sem = g.generate_text_semantic("pinned", temp=0.7, silent=True, allow_early_stop=False,
                                           max_gen_duration_s=(semantic_tokens - 0.5) / g.SEMANTIC_RATE_HZ,
                                           use_kv_caching=True)
            stage["semantic_s"] = time.perf_counter() - s
            s = time.perf_counter()
            co = g.generate_coarse(sem, temp=0.7, silent=True, use_kv_caching=True)
            stage["coarse_s"] = time.perf_counter() - s
            s = time.perf_counter()
            fi = g.generate_fine(co, temp=0.5, silent=True)
            stage["fine_s"] = time.perf_counter() - s
            s = time.perf_counter()
            audio = g.codec_decode(fi)
            stage["codec_s"] = time.perf_counter() - s
        stage["total_s"] = time.perf_counter() - t0
        stage.update(semantic_tokens=int(len(sem)), coarse_frames=int(co.shape[1]), fine_shape=list(fi.shape),
                     audio_samples=int(audio.shape[-1]))
        for name, t in timers.items():
            stage[f"{name}_prefill_s"], stage[f"{name}_n_prefill"] = t.prefill_s, t.n_prefill
            stage[f"{name}_prefill_positions"] = t.prefill_positions
            stage[f"{name}_decode_s"], stage[f"{name}_n_decode"] = t.decode_s, t.n_decode
            if t.n_decode:
                stage[f"{name}_decode_ms_per_token"] = 1000 * t.decode_s / t.n_decode
        return stage

    meta = {"tag": args.tag, "torch": torch.__version__, "threads": torch.get_num_threads(), "dtype": args.dtype,
            "mkldnn": torch.backends.mkldnn.is_available(), "ld_library_path": os.environ.get("LD_LIBRARY_PATH")}
    print(json.dumps(meta), flush=True)
    for _ in range(args.warmup):
        run(32)
    runs = []
    for _ in range(args.reps):
        quiet = wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else None
        b0, c0 = cpu_busy_s(), own_cpu_s()
        r = run(256)
        foreign = (cpu_busy_s() - b0) - (own_cpu_s() - c0)
        r.update(meta, foreign_cpu_s=round(foreign, 2), clean=foreign < 3.0 + NOISE_FRAC * r["total_s"],
                 quiet_before=quiet, time=time.strftime("%Y-%m-%d %H:%M:%S"))
        print(json.dumps(r), flush=True)
        runs.append(r)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(r) + "\n")
    if runs:
        print("MEDIAN", json.dumps({k: statistics.median(r[k] for r in runs)
                                    for k in ("total_s", "semantic_s", "coarse_s", "fine_s", "codec_s")}), flush=True)


if __name__ == "__main__":
    main()
