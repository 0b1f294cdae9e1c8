"""TinyGPT against PyTorch on the same CPU, side by side: `python3 bench/compare.py`.

For each preset and thread count, runs `gpt bench --json` (release build) and then
bench/torch_reference.py with the same preset, threads and runs, one right after the other so both
see the same machine state, and prints a markdown table with the ratio of training tokens per
second (TinyGPT / PyTorch). Needs a CPU PyTorch (pip install "torch==2.13.0+cpu").
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = ["demo", "baby", "small"]
DEFAULT_GPT = ".build/release/gpt"


def fail(message):
    sys.exit(f"compare.py: {message}")          # one line on stderr, exit status 1


def run(command):
    """Runs a benchmark command and returns its one JSON line."""
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    except OSError as error:
        fail(f"cannot run {command[0]}: {error}")
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        fail(f"`{' '.join(command)}` failed (exit {result.returncode}): {last}")
    return json.loads(lines[0])


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    torch = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    if torch.returncode != 0:
        fail(f"PyTorch is not installed for {sys.executable} (pip install \"torch==2.13.0+cpu\")")
    try:
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        swift = "swift version unknown"
    return f"{cpu}, {os.cpu_count()} cores; PyTorch {torch.stdout.strip()}; {swift}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="all", help="demo, baby, small, all, or a comma list")
    parser.add_argument("--threads", default="1,2", help="comma list of thread counts")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side; the median is reported")
    parser.add_argument("--steps", type=int, help="timed steps per run, both sides (default: about 1 s per run)")
    parser.add_argument("--gpt", default=DEFAULT_GPT, help="the gpt binary, relative to the repo root")
    parser.add_argument("--json", action="store_true", help="also print the raw JSON lines")
    args = parser.parse_args()
    presets = PRESETS if args.preset == "all" else args.preset.split(",")
    if any(p not in PRESETS for p in presets):
        fail(f"--preset takes demo, baby, small or all, got '{args.preset}'")
    gpt = os.path.join(ROOT, args.gpt)
    if not os.path.exists(gpt) and args.gpt != DEFAULT_GPT:
        fail(f"--gpt {args.gpt}: no such file")
    if not os.path.exists(gpt):
        print(f"{args.gpt} not found: swift build -c release", file=sys.stderr)
        if subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT).returncode != 0:
            fail("swift build -c release failed")
    common = ["--runs", str(args.runs), "--json"] + (["--steps", str(args.steps)] if args.steps else [])

    print(f"machine: {machine()}\n")
    print("| preset | threads | TinyGPT tokens/s | PyTorch tokens/s | ratio | TinyGPT GFLOP/s | PyTorch GFLOP/s |")
    print("|---|---|---|---|---|---|---|", flush=True)
    raw = []
    for preset in presets:
        for threads in args.threads.split(","):
            settings = ["--preset", preset, "--threads", threads] + common
            ours = run([gpt, "bench"] + settings)
            theirs = run([sys.executable, os.path.join(ROOT, "bench", "torch_reference.py")] + settings)
            raw += [ours, theirs]
            print(f"| {preset} | {threads} | {ours['tokens_per_s']:,.0f} | {theirs['tokens_per_s']:,.0f} | "
                  f"{ours['tokens_per_s'] / theirs['tokens_per_s']:.2f} | {ours['gflops']:.1f} | {theirs['gflops']:.1f} |",
                  flush=True)
    if args.json:
        print()
        for line in raw:
            print(json.dumps(line))


if __name__ == "__main__":
    main()
