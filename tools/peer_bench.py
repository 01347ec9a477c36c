#!/usr/bin/env python3
"""Time the decode step a PyTorch user would run instead of Tessera, on Tessera's shapes.

Three peers, each one token at a KV position p (the cache holding p earlier tokens), batch
1, random bf16 weights (timing does not depend on their values):

  hf-eager         transformers' model forward with a DynamicCache, launched eagerly;
  torch-cudagraph  the same forward on a StaticCache of p+1 rows, captured in one CUDA graph
                   and replayed;
  torch-compile    the StaticCache forward through torch.compile (mode max-autotune by
                   default, which also captures CUDA graphs).

Measured as `tessera bench` measures: the GPU's ceilings in the same run (a 1 GiB
device-to-device copy, bytes read + written, and an 8192^3 bf16 matmul, best of 10 each),
the same speed-of-light floor (src/bench/floor.cpp: every weight once, the embedding as one
row, KV rows 0..p read and row p written, 2 flops per multiply-add plus attention), CUDA
events around every repetition after warm-up, L2 flushed before each one when the working
set is under 4x the L2 size, median of --steps (at least 100 for a record). A repetition
faster than the floor is a measurement error: the script exits 1 and writes nothing.

The JSON it writes is an array of records in Tessera's schema (src/bench/record.h), so
`tessera bench --report tessera.json peers.json --md table.md --svg chart.svg` puts both
side by side. Needs a CUDA GPU, PyTorch and transformers 5.x (4.4x mostly works too);
--help works without them.

Usage: tools/peer_bench.py [--shapes llama-3.2-1b,llama-3-8b] [--positions 1,512,4096]
                           [--backends hf-eager,torch-cudagraph,torch-compile]
                           [--steps 100] [--warmup 10] [--json peers.json]
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

# Hyper-parameters as src/model/shapes.cpp holds them (published config.json values).
SHAPES = {
    "llama-3.2-1b": dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                         num_attention_heads=32, num_key_value_heads=8, head_dim=64,
                         max_position_embeddings=131072, rope_theta=500000.0, rms_norm_eps=1e-5,
                         tie_word_embeddings=True,
                         rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0,
                                           high_freq_factor=4.0, original_max_position_embeddings=8192)),
    "llama-3-8b": dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                       num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                       max_position_embeddings=8192, rope_theta=500000.0, rms_norm_eps=1e-5,
                       tie_word_embeddings=False),
}
BACKENDS = ("hf-eager", "torch-cudagraph", "torch-compile")
SCHEMA_VERSION = 1  # kBenchRecordSchema


def step_work(c, pos):
    """Bytes and flops of one decode step: src/bench/floor.cpp, line for line."""
    h, ff, v, layers = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    q = c["num_attention_heads"] * c["head_dim"]
    kv = c["num_key_value_heads"] * c["head_dim"]
    vector = 2 * h * layers + h + (0 if c["tie_word_embeddings"] else h)
    matrix = (q * h + 2 * kv * h + h * q + 3 * ff * h) * layers + v * h
    kv_row_all_layers = 2 * layers * kv * 2  # K and V, bf16
    bytes_ = 2 * (vector + matrix) + kv_row_all_layers * (pos + 1) + kv_row_all_layers
    flops = 2.0 * matrix + 4.0 * layers * c["num_attention_heads"] * c["head_dim"] * (pos + 1)
    return bytes_, flops


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="llama-3.2-1b,llama-3-8b",
                   help="comma-separated shapes (known: %s)" % ", ".join(SHAPES))
    p.add_argument("--positions", default="1,512,4096", help="comma-separated KV positions")
    p.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated peers: " + ", ".join(BACKENDS))
    p.add_argument("--steps", type=int, default=100, help="timed repetitions per measurement")
    p.add_argument("--warmup", type=int, default=10, help="untimed repetitions first")
    p.add_argument("--seed", type=int, default=0, help="torch seed of the random weights")
    p.add_argument("--compile-mode", default="max-autotune", help="torch.compile mode for torch-compile")
    p.add_argument("--commit", default=None, help="tessera commit to record (default: git rev-parse here)")
    p.add_argument("--json", default=None, help="write the records here (a JSON array)")
    a = p.parse_args(argv)

    def split(text, flag):
        items = [s.strip() for s in text.split(",") if s.strip()]
        if not items:
            p.error("%s: empty list" % flag)
        return items

    a.shapes = split(a.shapes, "--shapes")
    for s in a.shapes:
        if s not in SHAPES:
            p.error("--shapes: unknown shape '%s' (known: %s)" % (s, ", ".join(SHAPES)))
    a.backends = split(a.backends, "--backends")
    for b in a.backends:
        if b not in BACKENDS:
            p.error("--backends: unknown peer '%s' (known: %s)" % (b, ", ".join(BACKENDS)))
    try:
        a.positions = [int(x) for x in split(a.positions, "--positions")]
    except ValueError:
        p.error("--positions: expected comma-separated integers, got '%s'" % a.positions)
    for s in a.shapes:
        for pos in a.positions:
            if pos < 0 or pos >= SHAPES[s]["max_position_embeddings"]:
                p.error("--positions: %d is outside shape %s's context [0, %d)"
                        % (pos, s, SHAPES[s]["max_position_embeddings"]))
    if a.steps < 1:
        p.error("--steps must be at least 1")
    if a.warmup < 0:
        p.error("--warmup must not be negative")
    return a


# ---- device facts and ceilings ----

def gpu_info(torch):
    info = dict(name=torch.cuda.get_device_name(0), sm_clock_mhz=0, sm_clock_max_mhz=0, mem_clock_mhz=0,
                mem_clock_max_mhz=0, clock_source="unavailable (no pynvml)",
                driver_version="unknown", runtime_version="torch %s, CUDA %s" % (torch.__version__, torch.version.cuda))
    try:
        import pynvml
        pynvml.nvmlInit()
        bus = torch.cuda.get_device_properties(0)
        handle = None
        try:
            pci = "%04x:%02x:%02x.0" % (bus.pci_domain_id, bus.pci_bus_id, bus.pci_device_id)
            handle = pynvml.nvmlDeviceGetHandleByPciBusId(pci)
        except Exception:
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        info["sm_clock_mhz"] = pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_SM)
        info["sm_clock_max_mhz"] = pynvml.nvmlDeviceGetMaxClockInfo(handle, pynvml.NVML_CLOCK_SM)
        info["mem_clock_mhz"] = pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_MEM)
        info["mem_clock_max_mhz"] = pynvml.nvmlDeviceGetMaxClockInfo(handle, pynvml.NVML_CLOCK_MEM)
        driver = pynvml.nvmlSystemGetDriverVersion()
        info["driver_version"] = driver.decode() if isinstance(driver, bytes) else driver
        info["clock_source"] = "nvml"
        pynvml.nvmlShutdown()
    except Exception as e:  # clocks are informative; their absence must not stop a run
        info["clock_source"] = "unavailable (%s)" % e.__class__.__name__
    return info


def best_seconds(torch, fn, reps):
    fn()
    start = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    stop = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for i in range(reps):
        start[i].record()
        fn()
        stop[i].record()
    torch.cuda.synchronize()
    return min(s.elapsed_time(e) for s, e in zip(start, stop)) * 1e-3


def ceilings(torch):
    free, _ = torch.cuda.mem_get_info()
    n_bytes = min(1 << 30, free // 4) // 4096 * 4096
    src = torch.full((n_bytes,), 0x5A, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    copy_s = best_seconds(torch, lambda: dst.copy_(src), 10)
    del src, dst
    n = 8192
    a = torch.zeros((n, n), dtype=torch.bfloat16, device="cuda")  # zeros: the highest rate, the lowest floor
    b = torch.zeros_like(a)
    mm_s = best_seconds(torch, lambda: torch.mm(a, b), 10)
    del a, b
    return dict(copy_gbps=2 * n_bytes / copy_s * 1e-9,
                copy_method="torch copy_ device-to-device, %d MiB, best of 10, bytes read + written" % (n_bytes >> 20),
                matmul_tflops=2 * n ** 3 / mm_s * 1e-12,
                matmul_method="torch.mm %dx%dx%d bf16, best of 10" % (n, n, n))


# ---- the peers ----

def build_model(torch, transformers, shape, seed):
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(**SHAPES[shape])
    config._attn_implementation = "sdpa"
    with torch.device("cuda"):
        model = transformers.LlamaForCausalLM(config).to(torch.bfloat16)
    return model.eval(), config


def static_cache(transformers, config, length, torch):
    try:  # transformers 5.x
        return transformers.StaticCache(config=config, max_cache_len=length)
    except TypeError:  # 4.4x
        return transformers.StaticCache(config=config, max_batch_size=1, max_cache_len=length,
                                        device="cuda", dtype=torch.bfloat16)


def prefill(model, torch, cache, pos, vocab):
    if pos == 0:
        return
    ids = torch.randint(0, vocab, (1, pos), device="cuda")
    for begin in range(0, pos, 1024):  # chunks bound the activation memory of long prompts
        chunk = ids[:, begin:begin + 1024]
        model(input_ids=chunk, past_key_values=cache, use_cache=True,
              cache_position=torch.arange(begin, begin + chunk.shape[1], device="cuda"))


def make_step(backend, model, config, pos, torch, transformers, compile_mode):
    """A function running one decode step at `pos` on the GPU, without host synchronisation."""
    vocab = config.vocab_size
    token = torch.randint(0, vocab, (1, 1), device="cuda")
    cache_position = torch.tensor([pos], device="cuda")
    if backend == "hf-eager":
        cache = transformers.DynamicCache()
        prefill(model, torch, cache, pos, vocab)

        def step():
            model(input_ids=token, past_key_values=cache, use_cache=True, cache_position=cache_position)
            cache.crop(pos)  # back to p rows: every repetition decodes at the same position
        return step
    cache = static_cache(transformers, config, pos + 1, torch)
    prefill(model, torch, cache, pos, vocab)

    # transformers 5.x writes a StaticCache at each layer's running length (cumulative_length),
    # which every call advances, and takes positions from position_ids; 4.4x writes at
    # cache_position. Rewinding the running length on the GPU (a capturable fill_) keeps
    # every repetition, warm-up and capture included, decoding at position `pos`.
    running = [layer.cumulative_length for layer in getattr(cache, "layers", [])
               if isinstance(getattr(layer, "cumulative_length", None), torch.Tensor)]
    position_ids = cache_position.view(1, 1)

    def forward():
        for length in running:
            length.fill_(pos)
        if running:
            return model(input_ids=token, past_key_values=cache, use_cache=True, position_ids=position_ids).logits
        return model(input_ids=token, past_key_values=cache, use_cache=True, cache_position=cache_position).logits

    if backend == "torch-compile":
        compiled = torch.compile(forward, mode=compile_mode, fullgraph=True)
        for _ in range(3):  # compilation and CUDA-graph recording happen in the first calls
            compiled()
        torch.cuda.synchronize()
        return compiled
    # torch-cudagraph: warm up on a side stream (as capture requires), then capture once.
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            forward()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        forward()
    torch.cuda.synchronize()
    return graph.replay


def time_step(torch, step, warmup, steps, flush):
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    start = [torch.cuda.Event(enable_timing=True) for _ in range(steps)]
    stop = [torch.cuda.Event(enable_timing=True) for _ in range(steps)]
    for i in range(steps):
        if flush is not None:
            flush.fill_(i & 0xFF)
        start[i].record()
        step()
        stop[i].record()
    torch.cuda.synchronize()
    return [s.elapsed_time(e) for s, e in zip(start, stop)]  # ms


def commit_of(args):
    if args.commit:
        return args.commit
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                              check=True).stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def markdown(records):
    cols = []
    for r in records:
        if r["backend"] not in cols:
            cols.append(r["backend"])
    rows = {}
    for r in records:
        rows.setdefault((r["model"], r["position"]), {})[r["backend"]] = r
    out = ["| model | position | floor ms | " + " | ".join(cols) + " |",
           "| --- | ---: | ---: |" + " ---: |" * len(cols)]
    for (model, pos), cells in rows.items():
        floor = min(r["floor_ms"] for r in cells.values())
        vals = ["%.3f (%.2fx)" % (cells[c]["median_ms"], cells[c]["ratio"]) if c in cells else "—" for c in cols]
        out.append("| %s | %d | %.3f | %s |" % (model, pos, floor, " | ".join(vals)))
    return "\n".join(out)


def main(argv):
    args = parse_args(argv)
    import torch
    import transformers
    if not torch.cuda.is_available():
        sys.exit("peer_bench: no CUDA device visible to PyTorch")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch._dynamo.config.cache_size_limit = 64  # one compilation per shape and position
    info = gpu_info(torch)
    ceil = ceilings(torch)
    commit = commit_of(args)
    print("peer_bench: %s (SM %d/%d MHz, memory %d/%d MHz via %s), driver %s, %s" % (
        info["name"], info["sm_clock_mhz"], info["sm_clock_max_mhz"], info["mem_clock_mhz"],
        info["mem_clock_max_mhz"], info["clock_source"], info["driver_version"], info["runtime_version"]))
    print("peer_bench: ceilings: copy %.0f GB/s (%s); matmul %.1f TFLOP/s (%s)" % (
        ceil["copy_gbps"], ceil["copy_method"], ceil["matmul_tflops"], ceil["matmul_method"]), flush=True)
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    records = []
    for shape in args.shapes:
        model, config = build_model(torch, transformers, shape, args.seed)
        for backend in args.backends:
            for pos in args.positions:
                n_bytes, flops = step_work(SHAPES[shape], pos)
                floor_s = max(n_bytes / (ceil["copy_gbps"] * 1e9), flops / (ceil["matmul_tflops"] * 1e12))
                bound = "memory" if n_bytes / (ceil["copy_gbps"] * 1e9) >= flops / (ceil["matmul_tflops"] * 1e12) \
                    else "compute"
                flush = torch.empty(2 * l2, dtype=torch.uint8, device="cuda") if n_bytes < 4 * l2 else None
                try:
                    with torch.no_grad():
                        step = make_step(backend, model, config, pos, torch, transformers, args.compile_mode)
                        ms = time_step(torch, step, args.warmup, args.steps, flush)
                except Exception as e:  # one peer failing (e.g. capture unsupported) must not lose the others
                    print("peer_bench: %s %s pos %d FAILED: %s: %s" % (backend, shape, pos, e.__class__.__name__, e),
                          file=sys.stderr, flush=True)
                    continue
                finally:
                    torch.cuda.empty_cache()
                median = statistics.median(ms)
                if min(ms) <= 0 or min(ms) < floor_s * 1e3:
                    print("measurement error: %s at position %d: fastest step %.4f ms is below the floor %.4f ms"
                          % (backend, pos, min(ms), floor_s * 1e3), file=sys.stderr)
                    sys.exit(1)
                r = dict(schema_version=SCHEMA_VERSION,
                         date_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         gpu=info, commit=commit, model=shape, model_source="shape", seed=args.seed,
                         backend=backend, plan="default", position=pos, steps=len(ms),
                         l2_flushed=flush is not None, median_ms=median, min_ms=min(ms), max_ms=max(ms),
                         floor_ms=floor_s * 1e3, ratio=median / (floor_s * 1e3), floor_bytes=n_bytes,
                         floor_flops=flops, floor_bound=bound, ceilings=ceil)
                records.append(r)
                print("peer_bench: %s %s pos %d: median %.4f ms (min %.4f, max %.4f) over %d steps; floor %.4f ms -> %.2fx"
                      % (backend, shape, pos, median, min(ms), max(ms), len(ms), r["floor_ms"], r["ratio"]), flush=True)
        del model
        torch.cuda.empty_cache()
    print()
    print(markdown(records))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=2)
        print("peer_bench: wrote %d records to %s" % (len(records), args.json), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
