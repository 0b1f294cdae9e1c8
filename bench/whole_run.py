"""A whole training run on real text, TinyGPT against PyTorch: `python3 bench/whole_run.py`.

Times the whole `gpt train` command (release build: reading and tokenizing the corpus, the steps,
the held-out evaluations, writing loss.svg) and the whole `python3 bench/torch_train.py` command
(the same run in eager PyTorch, interpreter start and `import torch` included) with the same
corpus and settings, each under `/usr/bin/time -f %e,%M` (wall seconds, peak resident memory). The
two sides alternate for --rounds rounds, PyTorch first in every other round. Prints a markdown
table under a line naming the CPU: each side's median wall time, the median time in training steps
alone (gpt's "trained  N steps in X s", torch_train.py's train_seconds), wall / steps, peak memory
and the held-out loss at the last step. The defaults are nanoGPT's CPU "baby GPT" on the first
1.1 MB of the King James Bible (bench/make_texts.sh makes it). Needs a CPU PyTorch.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile

from compare import DEFAULT_GPT, ensure_gpt, fail, machine, median      # bench/compare.py, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIME = "/usr/bin/time"
# flag, default: both commands take these, with these values unless told otherwise
SETTINGS = [("corpus", "bench/data/kjv-1mb.txt"), ("tokenizer", "char"), ("layers", "4"), ("heads", "4"),
            ("width", "128"), ("context", "64"), ("batch", "12"), ("steps", "2000"), ("lr", "1e-3"),
            ("min-lr", "1e-4"), ("warmup", "100"), ("weight-decay", "0.1"), ("clip", "1.0"),
            ("held-out", "0.1"), ("seed", "1"), ("threads", "2")]


def timed(command, label):
    """Runs command under /usr/bin/time; returns (stdout, wall seconds, peak RSS in MB)."""
    with tempfile.NamedTemporaryFile(mode="r", suffix=".time") as times:
        try:
            result = subprocess.run([TIME, "-f", "%e,%M", "-o", times.name] + command, cwd=ROOT,
                                    capture_output=True, text=True)
        except OSError as error:
            fail(f"cannot run {TIME}: {error}")
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            fail(f"{label} failed (exit {result.returncode}): {last}")
        lines = times.read().strip().splitlines()
    try:
        wall, kilobytes = lines[-1].split(",")
        return result.stdout, float(wall), float(kilobytes) * 1024 / 1e6
    except (IndexError, ValueError):
        fail(f"{TIME} printed no wall time and peak memory for {label}")


def run_gpt(gpt, settings, steps):
    with tempfile.TemporaryDirectory(prefix="whole_run-") as out:
        stdout, wall, mb = timed([gpt, "train"] + settings + ["--out", out], "gpt train")
    trained = re.search(r"^trained\s+(\d+) steps in ([\d.]+) s", stdout, re.M)
    last = [m for m in re.finditer(r"^step\s+(\d+)\s+loss\s+\S+\s+held-out loss\s+([\d.]+)", stdout, re.M)
            if int(m.group(1)) == steps]
    if not trained or not last:
        fail(f"gpt train printed no \"trained  N steps in X s\" line or no held-out loss at step {steps}")
    return {"impl": "tinygpt", "wall_seconds": wall, "train_seconds": float(trained.group(2)), "peak_mb": mb,
            "held_out_loss": float(last[-1].group(2)), "steps": int(trained.group(1))}


def run_torch(settings):
    stdout, wall, mb = timed([sys.executable, os.path.join("bench", "torch_train.py")] + settings, "torch_train.py")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        fail("torch_train.py printed no JSON line")
    result = json.loads(lines[-1])
    result.update(wall_seconds=wall, peak_mb=mb)
    if result.get("held_out_loss") is None:
        fail("torch_train.py measured no held-out loss (is --held-out 0?)")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag, default in SETTINGS:
        parser.add_argument(f"--{flag}", default=default,
                            help=f"passed to both commands (default {default}" + (", relative to the repo root)" if flag == "corpus" else ")"))
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two sides; the table shows medians over rounds")
    parser.add_argument("--gpt", default=DEFAULT_GPT, help="the gpt binary, relative to the repo root")
    parser.add_argument("--json", action="store_true", help="also print each run's measurements as JSON lines")
    args = parser.parse_args()
    if args.rounds < 1:
        fail("--rounds takes a whole number of at least 1")
    try:
        steps = int(args.steps)
    except ValueError:
        fail(f"--steps takes a whole number, got '{args.steps}'")
    if args.tokenizer != "char":
        fail(f"--tokenizer char only: torch_train.py has no {args.tokenizer} tokenizer")
    corpus = os.path.join(ROOT, args.corpus)
    if not os.path.isfile(corpus):
        fail(f"{args.corpus} is missing: run bench/make_texts.sh" if args.corpus.startswith("bench/data/")
             else f"--corpus {args.corpus}: no such file (relative to {ROOT})")
    if not os.access(TIME, os.X_OK):
        fail(f"{TIME} is missing (apt-get install time): it measures wall time and peak memory")
    gpt = ensure_gpt(args.gpt)

    settings = [item for flag, _ in SETTINGS for item in (f"--{flag}", getattr(args, flag.replace("-", "_")))]
    print(f"CPU: {machine()}")                    # model, cpu family, cores, PyTorch and Swift versions
    print(f"run: {args.corpus}, {args.tokenizer} tokens, {args.layers} layers, {args.heads} heads, width {args.width}, "
          f"context {args.context}, batch {args.batch}, {steps} steps, lr {args.lr} → {args.min_lr} (warm-up {args.warmup}), "
          f"{args.threads} threads; median of {args.rounds} round{'s' if args.rounds > 1 else ''}\n", flush=True)

    rounds = []
    for r in range(args.rounds):
        # Which side goes first alternates, so a machine that slows down (or speeds up) over a
        # round does not always favour the same side.
        order = ["tinygpt", "pytorch"] if r % 2 == 0 else ["pytorch", "tinygpt"]
        results = {}
        for side in order:
            results[side] = run_gpt(gpt, settings, steps) if side == "tinygpt" else run_torch(settings)
            print(f"round {r + 1}/{args.rounds}: {'gpt train' if side == 'tinygpt' else 'torch_train.py'} "
                  f"{results[side]['wall_seconds']:.1f} s", file=sys.stderr, flush=True)
        rounds.append(results)

    names = {"tinygpt": "TinyGPT (`gpt train`)", "pytorch": "PyTorch (`torch_train.py`)"}
    print("| side | wall s | steps s | wall / steps | peak MB | held-out loss |")
    print("|---|---|---|---|---|---|")
    for side in ("tinygpt", "pytorch"):
        runs = [results[side] for results in rounds]
        wall, train = median([x["wall_seconds"] for x in runs]), median([x["train_seconds"] for x in runs])
        print(f"| {names[side]} | {wall:.1f} | {train:.1f} | {wall / train:.2f} | {max(x['peak_mb'] for x in runs):.0f} | "
              f"{median([x['held_out_loss'] for x in runs]):.3f} |")
    ratios = [results["tinygpt"]["wall_seconds"] / results["pytorch"]["wall_seconds"] for results in rounds]
    print(f"\nwall time TinyGPT / PyTorch: {median(ratios):.2f} (each round: {', '.join(f'{x:.2f}' for x in ratios)}; "
          "below 1 means TinyGPT's whole run is faster)")
    vocabulary = rounds[0]["pytorch"].get("vocabulary")
    if vocabulary:
        print(f"held-out loss at step 0: ln({vocabulary}) = {math.log(vocabulary):.3f} for a model that knows nothing; "
              f"PyTorch's untrained model {rounds[0]['pytorch'].get('held_out_loss_step_0')}")
    if args.json:
        print()
        for results in rounds:
            for side in ("tinygpt", "pytorch"):
                print(json.dumps(results[side]))


if __name__ == "__main__":
    main()
