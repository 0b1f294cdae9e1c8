"""Which of the notes' examples hold on the demo model, seed by seed: `python3 corpus/measure.py`.

For each seed (default 1 to 5) it trains the demo (`gpt demo --seed S`, release build) into a
temporary folder and asks the trained model, through `gpt explore --json`:
- dog's nearest pet word, and cat's (held: a pet word);
- uncle → aunt as man → ? (held: woman first);
- the plural direction cats − cat: every plural on the positive side, every singular on the
  negative one (held: all of them).
It prints one markdown table, one row per seed, with the numbers behind each verdict, so a change
to corpus/make_corpus.py can be judged on every seed, not on the one the demo prints.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PETS = ["dog", "cat", "puppy", "kitten", "rabbit", "horse"]
PLURALS = {"dog": "dogs", "cat": "cats", "puppy": "puppies", "kitten": "kittens", "rabbit": "rabbits", "horse": "horses"}


def fail(message):
    sys.exit(f"measure.py: {message}")          # one line on stderr, exit status 1


def run(command):
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"`{' '.join(command)}` failed: {(result.stderr.strip().splitlines() or ['no output'])[-1]}")
    return result.stdout


def explore(gpt, checkpoint, *question):
    return json.loads(run([gpt, "explore", *question, "--checkpoint", checkpoint, "--json", "--count", "12"]))


def measure(gpt, seed, folder):
    out = os.path.join(folder, f"seed-{seed}")
    run([gpt, "demo", "--seed", str(seed), "--out", out])
    checkpoint = os.path.join(out, "checkpoint")
    row = {}
    for word in ["dog", "cat"]:
        answers = explore(gpt, checkpoint, "neighbours", word)["answers"]
        pet = next((a for a in answers if a["word"] in PETS + list(PLURALS.values())), None)
        nearest = answers[0]
        row[word] = (pet is not None and pet["word"] in PETS and nearest["word"] in PETS + list(PLURALS.values()),
                     f"{nearest['word']} {nearest['cosine']:.2f}")
    answers = explore(gpt, checkpoint, "analogy", "uncle", "aunt", "man")["answers"]
    row["analogy"] = (answers[0]["word"] == "woman", ", ".join(f"{a['word']} {a['cosine']:.2f}" for a in answers[:2]))
    words = " ".join(list(PLURALS) + list(PLURALS.values()))
    placed = {w["word"]: w["dot"] for w in explore(gpt, checkpoint, "direction", "cat", "cats", "--project", words)["words"]}
    others = [(s, p) for s, p in PLURALS.items() if s != "cat" and s in placed and p in placed]
    right = sum(placed[p] > 0 and placed[s] < 0 for s, p in others)
    row["plural"] = (right == len(others), f"{right} of {len(others)} pairs on their sides")
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma list of seeds")
    parser.add_argument("--gpt", default=".build/release/gpt", help="the gpt binary, relative to the repo root")
    args = parser.parse_args()
    gpt = os.path.join(ROOT, args.gpt)
    if not os.path.exists(gpt):
        fail(f"{args.gpt} not found: swift build -c release")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        fail(f"--seeds takes a comma list of whole numbers, got '{args.seeds}'")
    print("| seed | dog's nearest | cat's nearest | uncle → aunt as man → ? | plural direction |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            row = measure(gpt, seed, folder)
            cells = [f"{'✓' if held else '✗'} {text}" for held, text in (row["dog"], row["cat"], row["analogy"], row["plural"])]
            print(f"| {seed} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
