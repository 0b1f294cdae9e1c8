"""TinyGPT against PyTorch and transformers at GPT-2 size, side by side: `python3 bench/gpt2.py`.

Makes, once, a random GPT-2 with transformers in bench/data/gpt2-SIZE/ (not committed: GPT-2
small is 500 MB): `GPT2LMHeadModel(GPT2Config(...))` with torch's seed 0, written by
`save_pretrained`, and a byte-level BPE tokenizer (vocab.json + merges.txt) trained with
`tokenizers` on bench/data/kjv.txt (bench/make_texts.sh makes it): 16,384 entries that merges
reach, then "<|16384|>" … "<|50256|>", so that the vocabulary has GPT-2's 50,257 entries and every
product has GPT-2's shapes.

Then it times three things a user does with such a model, each side in a fresh process, the two
sides alternating (PyTorch first in even rounds), `--rounds` times:
- eval: the mean NLL of the first --eval-tokens tokens of bench/data/kjv-1mb.txt, in windows of
  the model's context (gpt eval; PyTorch: the same windows under torch.no_grad). Both NLLs are
  printed: they must agree.
- generate: --tokens greedy tokens after a fixed prompt (gpt sample --temperature 0 with its
  key/value cache; transformers: generate(do_sample=False, use_cache=True)). The two texts must be
  the same: the table says whether they are.
- step: fine-tuning steps (gpt train --init-from, B = --batch windows of --context tokens, AdamW;
  PyTorch: the same model in eager mode, AdamW, global-norm clipping, the same shapes and steps).
  The time is the mean of the steps after the first.
Each row gives the median seconds over the rounds, the ratio PyTorch / TinyGPT (above 1: TinyGPT
is faster) in each round and its median, and each side's peak resident memory (/usr/bin/time %M).

    python3 bench/gpt2.py                           # GPT-2 small, 2 threads, 2 rounds
    python3 bench/gpt2.py --size 6x384 --tokens 300 # the 6-layer, 384-wide model of chapter 14
Options: --threads N, --rounds N, --steps N (fine-tuning steps per run, 3), --only eval,generate,step.
Needs torch and transformers (pip install torch transformers); the Swift side is .build/release/gpt.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
SIZES = {"small": dict(n_layer=12, n_head=12, n_embd=768), "6x384": dict(n_layer=6, n_head=6, n_embd=384)}
PROMPT = "And God said"
TOKENIZER_SIZE = 16384


def fail(message):
    sys.exit(f"gpt2.py: {message}")          # one line on stderr, exit status 1


# ---------------------------------------------------------------- the model and the text

def ensure_texts():
    if not os.path.exists(os.path.join(DATA, "kjv-1mb.txt")):
        print("bench/data/kjv-1mb.txt not found: bench/make_texts.sh", file=sys.stderr)
        if subprocess.run(["bash", os.path.join(ROOT, "bench", "make_texts.sh")]).returncode != 0:
            fail("bench/make_texts.sh failed")


def ensure_model(size):
    """bench/data/gpt2-SIZE: a random GPT-2 as transformers saves it, and a BPE tokenizer."""
    folder = os.path.join(DATA, f"gpt2-{size}")
    if os.path.exists(os.path.join(folder, "model.safetensors")) and os.path.exists(os.path.join(folder, "merges.txt")):
        return folder
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel
    print(f"making {os.path.relpath(folder, ROOT)}: a random GPT-2 ({size}) and a BPE tokenizer of {TOKENIZER_SIZE:,} entries", file=sys.stderr)
    partial = folder + ".making"
    os.makedirs(partial, exist_ok=True)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=50257, n_positions=1024, **SIZES[size]))
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer = ByteLevelBPETokenizer()
    tokenizer.train([os.path.join(DATA, "kjv.txt")], vocab_size=TOKENIZER_SIZE, min_frequency=2, show_progress=False)
    tokenizer.save_model(partial)
    # Fill the IDs the merges do not reach with tokens of their own ("<|16384|>" …), so that any ID
    # a random model picks decodes to the same text on both sides.
    vocab_path = os.path.join(partial, "vocab.json")
    vocab = json.load(open(vocab_path, encoding="utf-8"))
    vocab.update({f"<|{i}|>": i for i in range(len(vocab), 50257)})
    json.dump(vocab, open(vocab_path, "w", encoding="utf-8"), ensure_ascii=False)
    os.replace(partial, folder)                      # whole or not at all
    return folder


class bpe:
    """The folder's vocab.json + merges.txt as GPT-2's byte-level BPE (the `tokenizers` library)."""
    def __init__(self, folder):
        from tokenizers import ByteLevelBPETokenizer
        self.inner = ByteLevelBPETokenizer(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"))

    def __call__(self, text):
        return {"input_ids": self.inner.encode(text).ids}

    def decode(self, ids):
        return self.inner.decode(ids)


# ---------------------------------------------------------------- the PyTorch side (a worker process)

def torch_side(args):
    import torch
    from transformers import GPT2LMHeadModel
    torch.set_num_threads(args.threads)
    tokenizer = bpe(args.model)
    model = GPT2LMHeadModel.from_pretrained(args.model, attn_implementation="sdpa")
    T = model.config.n_positions
    result = {}
    if args.worker == "eval":
        ids = tokenizer(open(args.text, encoding="utf-8").read())["input_ids"][: args.eval_tokens]
        model.eval()
        start = time.perf_counter()
        total, count = 0.0, 0
        with torch.no_grad():
            for begin in range(0, len(ids) - 1, T):
                window = ids[begin: begin + T + 1]
                x, y = torch.tensor([window[:-1]]), torch.tensor([window[1:]])
                logits = model(x).logits
                total += torch.nn.functional.cross_entropy(logits[0], y[0], reduction="sum").item()
                count += y.numel()
        result = {"seconds": time.perf_counter() - start, "loss": total / count, "tokens": count}
    elif args.worker == "generate":
        model.eval()
        x = torch.tensor([tokenizer(PROMPT)["input_ids"]])
        with torch.no_grad():
            start = time.perf_counter()
            out = model.generate(x, max_new_tokens=args.tokens, min_new_tokens=args.tokens, do_sample=False, use_cache=True,
                                 pad_token_id=0, eos_token_id=None)
            seconds = time.perf_counter() - start
        result = {"seconds": seconds, "text": tokenizer.decode(out[0].tolist()), "tokens": out.shape[1] - x.shape[1]}
    else:
        ids = torch.tensor(tokenizer(open(args.text, encoding="utf-8").read()[:2_000_000])["input_ids"])
        generator = torch.Generator().manual_seed(1)
        decay = [p for p in model.parameters() if p.dim() >= 2]
        other = [p for p in model.parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                                      lr=3e-5, betas=(0.9, 0.95), eps=1e-8)
        model.train()
        for module in model.modules():                 # no dropout: TinyGPT has none
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        times, losses = [], []
        for _ in range(args.steps):
            start = time.perf_counter()
            starts = torch.randint(0, len(ids) - args.context - 1, (args.batch,), generator=generator)
            x = torch.stack([ids[s: s + args.context] for s in starts])
            y = torch.stack([ids[s + 1: s + args.context + 1] for s in starts])
            optimizer.zero_grad(set_to_none=True)
            logits = model(x).logits
            loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            times.append(time.perf_counter() - start)
            losses.append(loss.item())
        result = {"seconds": statistics.mean(times[1:]) if len(times) > 1 else times[0], "first": times[0], "losses": losses}
    print(json.dumps(result))


# ---------------------------------------------------------------- running both sides

def timed(command):
    """Runs command under /usr/bin/time; returns (stdout, stderr, peak MB)."""
    full = ["/usr/bin/time", "-f", "PEAK %M"] + command
    try:
        result = subprocess.run(full, cwd=ROOT, capture_output=True, text=True)
    except OSError as error:
        fail(f"cannot run {command[0]}: {error}")
    peaks = re.findall(r"PEAK (\d+)", result.stderr)
    if result.returncode != 0 or not peaks:
        last = [line for line in result.stderr.strip().splitlines() if not line.startswith("PEAK")] or ["no output"]
        fail(f"`{' '.join(command)}` failed (exit {result.returncode}): {last[-1]}")
    return result.stdout, result.stderr, int(peaks[-1]) * 1024 / 1e6


def swift_side(args, what, gpt):
    common = ["--threads", str(args.threads)]
    if what == "eval":
        text = os.path.join(DATA, f".eval-{args.eval_tokens}.txt")
        out, err, peak = timed([gpt, "eval", "--checkpoint", args.model, "--text", text] + common)
        seconds = float(re.search(r"evaluated [\d,]+ tokens in ([\d.]+) s", err).group(1))
        return {"seconds": seconds, "loss": float(re.search(r"loss ([\d.]+) nats", out).group(1)), "peak": peak}
    if what == "generate":
        out, err, peak = timed([gpt, "sample", "--checkpoint", args.model, "--prompt", PROMPT, "--temperature", "0",
                                "--tokens", str(args.tokens)] + common)
        seconds = float(re.search(r"sampled \d+ tokens in ([\d.]+) s", err).group(1))
        return {"seconds": seconds, "text": out[:-1], "peak": peak}
    folder = os.path.join(DATA, ".tuned")
    out, err, peak = timed([gpt, "train", "--init-from", args.model, "--corpus", os.path.join(DATA, "kjv-1mb.txt"),
                            "--context", str(args.context), "--batch", str(args.batch), "--steps", str(args.steps),
                            "--lr", "3e-5", "--min-lr", "3e-5", "--warmup", "0", "--beta2", "0.95", "--held-out", "0",
                            "--samples", "0", "--out", folder] + common)
    steps = [float(t) for t in re.findall(r"^step \d+ .* ([\d.]+) s$", out, re.M)]
    if len(steps) < 2:
        fail(f"gpt train printed {len(steps)} step lines with times; needs --steps 2 or more")
    # Each step line carries the seconds since the start: the steps after the first, per step.
    return {"seconds": (steps[-1] - steps[0]) / (len(steps) - 1), "first": steps[0], "peak": peak,
            "losses": [float(x) for x in re.findall(r"^step \d+\s+loss ([\d.]+)", out, re.M)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="fine-tuning steps per run (the first is not timed)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--tokens", type=int, default=200, help="greedy tokens to generate")
    parser.add_argument("--eval-tokens", type=int, default=4096)
    parser.add_argument("--only", default="eval,generate,step")
    parser.add_argument("--gpt", default=".build/release/gpt")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--text", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return torch_side(args)
    what = [w for w in args.only.split(",") if w]
    if any(w not in ("eval", "generate", "step") for w in what) or not what:
        fail(f"--only takes eval, generate and step, comma-separated, got '{args.only}'")
    if min(args.threads, args.rounds, args.batch, args.context, args.tokens, args.eval_tokens) < 1 or args.steps < 2:
        fail("--threads, --rounds, --batch, --context, --tokens and --eval-tokens must be at least 1, --steps at least 2")
    gpt = os.path.join(ROOT, args.gpt)
    if not os.path.exists(gpt):
        fail(f"{args.gpt} not found: swift build -c release")
    try:
        import torch, transformers                   # noqa: F401
    except ImportError as error:
        fail(f"needs torch and transformers ({error}): pip install torch transformers")
    ensure_texts()
    args.model = ensure_model(args.size)
    # The eval text: the first eval-tokens tokens of kjv-1mb.txt, cut where both sides cut it.
    tokenizer = bpe(args.model)
    text = open(os.path.join(DATA, "kjv-1mb.txt"), encoding="utf-8").read()
    ids = tokenizer(text[: args.eval_tokens * 8])["input_ids"][: args.eval_tokens]
    with open(os.path.join(DATA, f".eval-{args.eval_tokens}.txt"), "w", encoding="utf-8") as f:
        f.write(tokenizer.decode(ids))
    args.text = os.path.join(DATA, f".eval-{args.eval_tokens}.txt")
    import platform
    cpu = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        cpu.setdefault(key.strip(), value.strip())
    avx = "AVX-512" if "avx512f" in cpu.get("flags", "").split() else "AVX2"
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"{cpu.get('model name')} (cpu family {cpu.get('cpu family')}, model {cpu.get('model')}, {avx}), {os.cpu_count()} cores; "
          f"PyTorch {torch.__version__}, transformers {transformers.__version__}; {swift}; {platform.python_version()}")
    print(f"GPT-2 {args.size} (random, 50,257 × {SIZES[args.size]['n_embd']}, {SIZES[args.size]['n_layer']} layers), "
          f"{args.threads} threads, {args.rounds} rounds")
    print()
    print("| what | TinyGPT s | PyTorch s | PyTorch / TinyGPT (median; each round) | TinyGPT peak MB | PyTorch peak MB | check |")
    print("|---|---|---|---|---|---|---|")
    me = [sys.executable, os.path.abspath(__file__), "--model", args.model, "--text", args.text, "--threads", str(args.threads),
          "--steps", str(args.steps), "--batch", str(args.batch), "--context", str(args.context), "--tokens", str(args.tokens),
          "--eval-tokens", str(args.eval_tokens)]
    for w in what:
        ours, theirs = [], []
        for r in range(args.rounds):
            def run_torch():
                out, _, peak = timed(me + ["--worker", w])
                theirs.append(dict(json.loads(out.strip().splitlines()[-1]), peak=peak))
            first, second = (run_torch, lambda: ours.append(swift_side(args, w, gpt)))[:: 1 if r % 2 else -1]
            first()
            second()
        ratios = [t["seconds"] / o["seconds"] for o, t in zip(ours, theirs)]
        if w == "eval":
            check = f"NLL {ours[0]['loss']:.4f} / {theirs[0]['loss']:.4f}"
            label = f"eval, {theirs[0]['tokens']:,} tokens in windows of 1,024"
        elif w == "generate":
            check = "same text" if ours[0]["text"] == theirs[0]["text"] else "TEXTS DIFFER"
            label = f"greedy generation, {args.tokens} tokens (cache on both sides)"
        else:
            check = f"first losses {ours[0]['losses'][0]:.3f} / {theirs[0]['losses'][0]:.3f}"
            label = f"fine-tuning step, B {args.batch} × T {args.context} (after the first)"
        print(f"| {label} | {statistics.median(o['seconds'] for o in ours):.3f} | {statistics.median(t['seconds'] for t in theirs):.3f} | "
              f"{statistics.median(ratios):.2f} ({', '.join(f'{x:.2f}' for x in ratios)}) | "
              f"{max(o['peak'] for o in ours):,.0f} | {max(t['peak'] for t in theirs):,.0f} | {check} |", flush=True)


if __name__ == "__main__":
    main()
