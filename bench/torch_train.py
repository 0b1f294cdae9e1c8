"""The PyTorch side of bench/whole_run.py: `gpt train --tokenizer char` as one eager PyTorch run.

    python3 bench/torch_train.py --corpus bench/data/kjv-1mb.txt --layers 4 --heads 4 --width 128 \\
        --context 64 --batch 12 --steps 2000 --lr 1e-3 --min-lr 1e-4 --warmup 100 --threads 2

The same flags, defaults and run as `gpt train` (CPU, float32, torch.set_num_threads(--threads)):
  tokens      characters = Unicode code points; the vocabulary is "<unk>" (ID 0) and then every
              character of the corpus in order of first appearance, as TinyGPT's CharacterTokenizer
  model       GPT in bench/torch_reference.py (GPT-2: Pre-LN, GELU tanh, learned positions, tied
              unembedding, biases, LayerNorm eps 1e-5), initialised as TinyGPT's chapter 09:
              every matrix N(0, 0.02), the two residual projections of each block N(0, 0.02/√(2L)),
              biases 0, LayerNorm γ 1 and β 0
  optimizer   AdamW, betas (0.9, 0.95), eps 1e-8, --weight-decay on 2-D parameters only, the global
              gradient norm clipped to --clip; lr as chapter 12's learningRate(step:): linear warm-up
              lr·(s+1)/warmup for step s < warmup (from 0), then a cosine from lr to min-lr
  data        the last --held-out fraction of the token stream kept apart (split = n − int(n·f), none
              if either part is shorter than a window); each step B random windows of T + 1 tokens
              from the training part
  held-out    chapter 13's heldOutLoss: windows starting at 0, T, 2T, … through heldOut − T − 1, at
              most 256 of them spread as all[i·len(all)/256], their mean loss, B windows at a time;
              at step 0, every steps/12 steps and at the last step, as gpt train's Cadence
The random numbers differ from TinyGPT's (torch.manual_seed(--seed) drives init and batches), so the
two runs' losses agree as two seeds do, not to the bit. Prints gpt train's kind of lines, then one
JSON line: {"impl": "pytorch", "train_seconds": …, "held_out_loss": …, "steps": …, …}, where
train_seconds counts the steps only (batch, forward, backward, clip, update), as gpt's "trained  N
steps in X s" does; reading, tokenizing, building the model and the held-out evaluations are not in it.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import GPT  # noqa: E402  the model compare.py times, one definition for both benchmarks

UNKNOWN = "<unk>"


def fail(message):
    sys.exit(f"torch_train.py: {message}")       # one line on stderr, exit status 1


def float32(x):
    """x as TinyGPT holds it: its flags are Float (the held-out fraction is then widened to Double)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def read_corpus(path):
    """The corpus as gpt reads it: UTF-8, no NUL byte, not all white space; line ends kept as they are."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        fail(f"cannot read corpus '{path}': {error.strerror} (pass --corpus PATH)")
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL")
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"corpus '{path}' is not UTF-8 text (is it a binary file?)")
    if not text.strip():
        fail(f"corpus '{path}' is empty: give it some text")
    return text


def character_tokens(text):
    """CharacterTokenizer: the vocabulary ["<unk>", characters in order of first appearance] and the IDs."""
    order = list(dict.fromkeys(text))                            # dict keeps insertion order: first appearance
    table = torch.zeros(0x110000, dtype=torch.long)              # code point → ID, as TinyGPT's index table
    table[torch.tensor([ord(c) for c in order], dtype=torch.long)] = torch.arange(1, len(order) + 1)
    chunk = 1 << 24                                              # 16 M characters at a time: 64 MB of code points
    return [UNKNOWN] + order, torch.cat([
        table[torch.frombuffer(bytearray(text[i:i + chunk].encode("utf-32-le")), dtype=torch.int32).long()]
        for i in range(0, len(text), chunk)])


def initialise(model, layers):
    """TinyGPT's chapter 09 (and GPT-2's) initialisation."""
    residual_std = 0.02 / math.sqrt(2 * layers)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                std = residual_std if name.endswith(("attn_proj.weight", "mlp_proj.weight")) else 0.02
                p.normal_(0.0, std)
            elif name.endswith("weight"):                        # LayerNorm γ
                p.fill_(1.0)
            else:                                                # biases, LayerNorm β
                p.zero_()


def learning_rate(s, lr, min_lr, warmup, total):
    """Chapter 12's learningRate(step:) for step s, counted from 0."""
    if s < warmup:
        return lr * (s + 1) / warmup
    progress = (s - warmup) / max(1, total - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * min(1.0, progress))) * (lr - min_lr)


def held_out_starts(count, T, limit=256):
    """Chapter 13's heldOutStarts(limit:): side by side, at most `limit`, evenly spread."""
    every = list(range(0, count - T, T))                         # stride(from: 0, through: count − T − 1, by: T)
    return every if len(every) <= limit else [every[i * len(every) // limit] for i in range(limit)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default="corpus.txt", help="text to learn the vocabulary from (and to train on)")
    p.add_argument("--tokenizer", default="char", choices=["char"], help="char only (gpt train: word, char or bpe)")
    p.add_argument("--width", type=int, default=64, help="C, components per token vector")
    p.add_argument("--layers", type=int, default=2, help="L, transformer blocks")
    p.add_argument("--heads", type=int, default=4, help="H, attention heads (must divide --width)")
    p.add_argument("--context", type=int, default=32, help="T, tokens per window")
    p.add_argument("--batch", type=int, default=16, help="B, windows per step")
    p.add_argument("--steps", type=int, default=600, help="training steps")
    p.add_argument("--lr", type=float, default=6e-3, help="peak learning rate (after warm-up)")
    p.add_argument("--min-lr", type=float, default=6e-4, help="learning rate at the end of the cosine")
    p.add_argument("--warmup", type=int, default=20, help="steps of linear warm-up")
    p.add_argument("--weight-decay", type=float, default=0.1, help="AdamW's decoupled decay on matrices")
    p.add_argument("--clip", type=float, default=1.0, help="largest global gradient norm")
    p.add_argument("--held-out", type=float, default=0.1, help="fraction of the corpus kept apart")
    p.add_argument("--seed", type=int, default=1, help="torch.manual_seed")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    args = p.parse_args()
    for name in ("width", "layers", "heads", "context", "batch", "steps", "threads"):
        if getattr(args, name) < 1:
            fail(f"--{name} takes a whole number of at least 1, got {getattr(args, name)}")
    if args.warmup < 0 or args.width % args.heads:
        fail(f"--warmup must be at least 0 and --heads must divide --width, got {args.warmup}, {args.heads}, {args.width}")
    if not 0 <= args.held_out <= 0.9:
        fail(f"--held-out must be between 0 and 0.9, got {args.held_out}")
    lr, min_lr = float32(args.lr), min(float32(args.lr), float32(args.min_lr))   # gpt: min-lr at most lr
    B, T, L = args.batch, args.context, args.layers

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    text = read_corpus(args.corpus)
    vocabulary, ids = character_tokens(text)
    V, n = len(vocabulary), len(ids)
    if n < T + 1:
        fail(f"{args.corpus}: the corpus has {n} tokens but training needs at least {T + 1}")
    split = n - int(n * float32(args.held_out))
    if n - split < T + 1 or split < T + 1:
        split = n                                                # too short to hold out: none
    train, held = ids[:split], ids[split:]

    model = GPT(V, T, L, args.heads, args.width)
    initialise(model, L)
    params = list(model.parameters())
    optimizer = torch.optim.AdamW([{"params": [q for q in params if q.dim() == 2], "weight_decay": args.weight_decay},
                                   {"params": [q for q in params if q.dim() != 2], "weight_decay": 0.0}],
                                  lr=lr, betas=(0.9, 0.95), eps=1e-8)
    starts = torch.tensor(held_out_starts(len(held), T), dtype=torch.long)
    offsets = torch.arange(T)

    def held_out_loss():
        if len(starts) == 0:
            return None
        total = 0.0
        with torch.no_grad():
            for first in range(0, len(starts), B):
                rows = starts[first:first + B, None] + offsets
                loss = F.cross_entropy(model(held[rows]).view(-1, V), held[rows + 1].view(-1))
                total += loss.item() * len(rows)                 # the batch's mean, back to a sum
        return total / len(starts)

    print(f"corpus   {args.corpus}: {n:,} character tokens, vocabulary {V} (train {len(train):,}, held out {len(held):,})")
    print(f"model    {L} layers · {args.heads} heads · width {args.width} · context {T} · GPT-2 in PyTorch "
          f"{torch.__version__} = {sum(q.numel() for q in params):,} parameters")
    print(f"training {args.steps} steps of {B} windows × {T} tokens; AdamW lr {args.lr:g} (warm-up {args.warmup}, "
          f"cosine to {min_lr:.3g}), weight decay {args.weight_decay:g}; seed {args.seed}; {torch.get_num_threads()} threads")
    first_loss = held_out_loss()
    print(f"start    ln({V}) = {math.log(V):.3f}" + (f"; held-out loss at step 0: {first_loss:.3f}" if first_loss is not None else ""),
          flush=True)

    every = max(1, args.steps // 12)                             # Cadence(evaluateEvery: totalSteps / 12)
    seconds, losses, last_held = 0.0, [], first_loss
    model.train()
    for s in range(args.steps):
        started = time.perf_counter()
        rows = torch.randint(0, len(train) - T, (B, 1)) + offsets      # window train[start ..< start + T + 1]
        eta = learning_rate(s, lr, min_lr, args.warmup, args.steps)
        for group in optimizer.param_groups:
            group["lr"] = eta
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(train[rows]).view(-1, V), train[rows + 1].view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, args.clip)
        optimizer.step()
        value = loss.item()
        seconds += time.perf_counter() - started
        if not math.isfinite(value):
            fail(f"the loss became {value} at step {s + 1}: training diverged; lower --lr, raise --warmup or lower --clip")
        losses.append(value)
        step = s + 1
        if step % every == 0 or step == args.steps:
            last_held = held_out_loss()
            recent = losses[-every:]
            line = f"step {step:<{len(str(args.steps))}}  loss {sum(recent) / len(recent):.4f}"
            line += f"  held-out loss {last_held:.3f}" if last_held is not None else ""
            print(line + f"  lr {eta:.1e}  {step * B * T / seconds:,.0f} tok/s  {seconds:.1f} s", flush=True)
    final = losses[-20:]
    print(f"trained  {args.steps} steps in {seconds:.1f} s ({args.steps * B * T / seconds:,.0f} tokens/s); "
          f"final train loss {sum(final) / len(final):.4f} (mean of the last {len(final)} steps)")
    print(json.dumps({"impl": "pytorch", "train_seconds": round(seconds, 3),
                      "held_out_loss": None if last_held is None else round(last_held, 4), "steps": args.steps,
                      "held_out_loss_step_0": None if first_loss is None else round(first_loss, 4),
                      "vocabulary": V, "tokens": n, "parameters": sum(q.numel() for q in params),
                      "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
