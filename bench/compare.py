"""TinyGPT against PyTorch on the same CPU, side by side: `python3 bench/compare.py`.

For each preset and thread count, runs `gpt bench --json` (release build) and then
bench/torch_reference.py with the same preset, threads and runs, one right after the other so both
see the same machine state, and repeats that pair `--rounds` times: on a shared machine the speed
of both sides drifts by 15 % or more within a minute, and alternating keeps the drift out of the
ratio. Prints a markdown table: each side's median tokens per second over the rounds, the median
of the rounds' ratios (TinyGPT / PyTorch) and each round's own ratio. Needs a CPU PyTorch (pip install "torch==2.13.0+cpu").
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
    sys.exit(f"{os.path.basename(sys.argv[0])}: {message}")          # one line on stderr, exit status 1


def ensure_gpt(relative):
    """The path of the gpt binary; the default one is built (swift build -c release) if missing."""
    gpt = os.path.join(ROOT, relative)
    if not os.path.exists(gpt) and relative != DEFAULT_GPT:
        fail(f"--gpt {relative}: no such file")
    if not os.path.exists(gpt):
        print(f"{relative} not found: swift build -c release", file=sys.stderr)
        if subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT).returncode != 0:
            fail("swift build -c release failed")
    return gpt


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


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            fields = {}
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
        cpu = fields.get("model name", cpu)
        if "cpu family" in fields:
            cpu += f" (cpu family {fields['cpu family']}, model {fields.get('model', '?')})"
        flags = fields.get("flags", "").split()
        cpu += ", AVX-512" if "avx512f" in flags else ", AVX2" if "avx2" in flags else ""
    except OSError:
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
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side and round; each side reports their median")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two sides; the table shows medians over rounds")
    parser.add_argument("--steps", type=int, help="timed steps per run, both sides (default: about 1 s per run)")
    parser.add_argument("--gpt", default=DEFAULT_GPT, help="the gpt binary, relative to the repo root")
    parser.add_argument("--json", action="store_true", help="also print the raw JSON lines")
    args = parser.parse_args()
    if args.runs < 1 or args.rounds < 1:
        fail("--runs and --rounds take a whole number of at least 1")
    presets = PRESETS if args.preset == "all" else args.preset.split(",")
    if any(p not in PRESETS for p in presets):
        fail(f"--preset takes demo, baby, small or all, got '{args.preset}'")
    gpt = ensure_gpt(args.gpt)
    common = ["--runs", str(args.runs), "--json"] + (["--steps", str(args.steps)] if args.steps else [])

    print(f"machine: {machine()}\n")
    print("| preset | threads | TinyGPT tokens/s | PyTorch tokens/s | ratio | each round's ratio | TinyGPT GFLOP/s | PyTorch GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    raw = []
    for preset in presets:
        for threads in args.threads.split(","):
            settings = ["--preset", preset, "--threads", threads] + common
            rounds = []
            for r in range(args.rounds):
                # Which side goes first alternates, so a machine that slows down (or speeds up) over
                # a round does not always favour the same side.
                swift = lambda: run([gpt, "bench"] + settings)
                torch = lambda: run([sys.executable, os.path.join(ROOT, "bench", "torch_reference.py")] + settings)
                if r % 2 == 0:
                    ours = swift(); theirs = torch()
                else:
                    theirs = torch(); ours = swift()
                raw += [ours, theirs]
                rounds.append((ours, theirs))
            ours = {key: median([o[key] for o, _ in rounds]) for key in ("tokens_per_s", "gflops")}
            theirs = {key: median([t[key] for _, t in rounds]) for key in ("tokens_per_s", "gflops")}
            ratios = [o["tokens_per_s"] / t["tokens_per_s"] for o, t in rounds]   # each round's two sides ran back to back
            each = ", ".join(f"{ratio:.2f}" for ratio in ratios)
            print(f"| {preset} | {threads} | {ours['tokens_per_s']:,.0f} | {theirs['tokens_per_s']:,.0f} | "
                  f"{median(ratios):.2f} | {each} | {ours['gflops']:.1f} | {theirs['gflops']:.1f} |",
                  flush=True)
    if args.json:
        print()
        for line in raw:
            print(json.dumps(line))


if __name__ == "__main__":
    main()
