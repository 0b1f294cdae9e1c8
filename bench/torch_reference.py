"""The PyTorch side of `gpt bench`: the same model, presets, step and FLOP count, timed the same way.

    python3 bench/torch_reference.py --preset demo --threads 1 --json

GPT-2's architecture in eager PyTorch (float32): Pre-LN, GELU (tanh approximation), learned
positions, tied embeddings, biases everywhere, attention by F.scaled_dot_product_attention with
is_causal=True. One step = zero_grad, forward, mean cross-entropy, backward, clip_grad_norm_(1.0),
AdamW (lr 3e-3, betas 0.9/0.95, eps 1e-8, decay 0.1 on 2-D parameters). B random windows of a fixed
random token sequence, as in gpt bench; two warm-up steps; steps per run chosen for about one second
(or --steps); the median of --runs runs.
FLOPs per token = 6·N_mm + 12·L·C·T with N_mm = 12·L·C² + V·C.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {  # vocab, context, layers, heads, width, batch
    "demo": (200, 32, 2, 4, 64, 16),
    "baby": (65, 64, 4, 4, 128, 12),
    "small": (65, 256, 6, 6, 384, 8),
}


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.c_attn, self.attn_proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.c_fc, self.mlp_proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, context, layers, heads, width):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(context, width)
        self.h = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T          # tied unembedding


def measure(preset, threads, runs, steps=None):
    vocab, context, layers, heads, width, batch = PRESETS[preset]
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = GPT(vocab, context, layers, heads, width)
    params = list(model.parameters())
    optimizer = torch.optim.AdamW([{"params": [p for p in params if p.dim() == 2], "weight_decay": 0.1},
                                   {"params": [p for p in params if p.dim() != 2], "weight_decay": 0.0}],
                                  lr=3e-3, betas=(0.9, 0.95), eps=1e-8)

    tokens = torch.randint(0, vocab, (context * 64 + 1,))  # like gpt bench: random windows of random tokens

    def step():
        starts = torch.randint(0, len(tokens) - context, (batch, 1)) + torch.arange(context)
        ids, targets = tokens[starts], tokens[starts + 1]
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(ids).view(-1, vocab), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    started = time.perf_counter()
    for _ in range(2):
        step()
    guess = max((time.perf_counter() - started) / 2, 1e-4)
    steps = steps or max(2, int(1.0 / guess))
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(steps):
            step()
        timings.append((time.perf_counter() - started) / steps)
    per_step = statistics.median(timings)
    tokens_per_s = batch * context / per_step
    flops_per_token = 6 * (12 * layers * width * width + vocab * width) + 12 * layers * width * context
    return {"preset": preset, "threads": threads, "tokens_per_s": round(tokens_per_s, 1),
            "gflops": round(tokens_per_s * flops_per_token / 1e9, 3), "ms_per_step": round(per_step * 1000, 3),
            "parameters": sum(p.numel() for p in params), "impl": "pytorch"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="all", choices=["all", *PRESETS])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs; the median is reported")
    parser.add_argument("--steps", type=int, help="timed steps per run (default: about 1 s of work per run)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.json:
        print(f"torch_reference.py: training steps in PyTorch {torch.__version__}, {args.threads} thread(s), "
              f"median of {args.runs} runs")
        print("preset  params      ms/step  tokens/s   GFLOP/s")
    for preset in PRESETS if args.preset == "all" else [args.preset]:
        r = measure(preset, args.threads, args.runs, args.steps)
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print(f"{preset:8}{r['parameters']:<12,}{r['ms_per_step']:<9.2f}{r['tokens_per_s']:<11,.0f}{r['gflops']:.1f}",
                  flush=True)

if __name__ == "__main__":
    main()
