"""TinyGPT against PyTorch on the same CPU, side by side: `python3 bench/compare.py`.

For each preset and thread count, runs `gpt bench --json` (release build) and then
bench/torch_reference.py with the same settings, and prints a markdown table with the ratio of
training tokens per second. Needs a CPU PyTorch (pip install "torch==2.13.0+cpu").
"""
import argparse
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command):
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"compare.py: {' '.join(command)} failed: {result.stderr.strip().splitlines()[-1:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default="demo,baby,small")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="also print the raw JSON lines")
    args = parser.parse_args()
    gpt = os.path.join(ROOT, ".build", "release", "gpt")
    subprocess.run(["swift", "build", "-c", "release", "--product", "gpt"], cwd=ROOT, check=True, capture_output=True)
    import torch
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; PyTorch {torch.__version__}; {swift}\n")
    print("| preset | threads | TinyGPT tokens/s | PyTorch tokens/s | ratio | TinyGPT GFLOP/s | PyTorch GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for preset in args.presets.split(","):
        for threads in args.threads.split(","):
            ours = run([gpt, "bench", "--preset", preset, "--threads", threads, "--runs", str(args.runs), "--json"])[0]
            theirs = run([sys.executable, "bench/torch_reference.py", "--preset", preset, "--threads", threads,
                          "--runs", str(args.runs), "--json"])[0]
            if args.json:
                print(json.dumps(ours), json.dumps(theirs), file=sys.stderr)
            ratio = ours["tokens_per_s"] / theirs["tokens_per_s"]
            print(f"| {preset} | {threads} | {ours['tokens_per_s']:,.0f} | {theirs['tokens_per_s']:,.0f} | "
                  f"{ratio:.2f}× | {ours['gflops']:.1f} | {theirs['gflops']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
