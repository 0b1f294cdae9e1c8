"""Which of the notes' examples hold on the demo model, seed by seed: `python3 corpus/measure.py`.

For each seed (default 1 to 5) it trains the demo (`gpt demo --seed S`, release build) into a
temporary folder and asks the trained model, through `gpt explore --json`:
- dog's nearest pet word, and cat's (held: a pet word);
- uncle → aunt as man → ? (held: woman first);
- the plural direction cats − cat: every plural on the positive side, every singular on the
  negative one (held: all of them);
- greenhouse gas and ghg, through `gpt explore context`: at the last layer, the row of "gas" in
  "… greenhouse gas …" and of "ghg" in the same sentence frame are closer (cosine) than either is
  to an unrelated noun in that frame (coffee, dog, milk), in every frame (held: every frame);
- apple in both senses: the row of the one token "apple" at the last layer in every fruit
  sentence of the corpus and in every company sentence; the mean cosine within a sense against the mean across the senses
  (held: within > across). Layer 0 (X₀: the token plus its position) is printed beside it, so
  one sees that the difference appears in the blocks, not in W_E.
`--steps 1` asks the same of the model before training (one step at the warm-up's first learning
rate, 3e-4, barely moves the random rows), for the chapter 15 table of the untrained model.
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
GAS_FRAMES = ["factories release [] .", "we must cut [] emissions .", "[] traps heat in the air ."]
UNRELATED = ["coffee", "dog", "milk"]
# Every corpus sentence that holds the one token "apple", by sense (make_corpus.py's own lists).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_corpus  # noqa: E402
FRUIT = [s for s in make_corpus.fruit() + make_corpus.fruit_outside() if "apple " in s]
COMPANY = [s for s in make_corpus.company() + make_corpus.company_outside() if "apple " in s]
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


def measure(gpt, seed, folder, steps):
    out = os.path.join(folder, f"seed-{seed}")
    run([gpt, "demo", "--seed", str(seed), "--out", out] + (["--steps", str(steps)] if steps else []))
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
    row["gas"] = gas(gpt, checkpoint)
    row["apple"] = apple(gpt, checkpoint)
    return row


def last_layer(answer):
    """{(a, b): cosine} at the last layer of a `gpt explore context --json` answer (sentences 0-based)."""
    return {(p["a"] - 1, p["b"] - 1): p["cosine"] for p in answer["layers"][-1]["pairs"]}, answer["layers"]


def gas(gpt, checkpoint):
    held, worst = True, None
    for frame in GAS_FRAMES:
        sentences = [frame.replace("[]", "greenhouse [gas]"), frame.replace("[]", "[ghg]")] + \
                    [frame.replace("[]", f"[{noun}]") for noun in UNRELATED]
        cos, _ = last_layer(explore(gpt, checkpoint, "context", "gas", *sum((["--in", s] for s in sentences), [])))
        together = cos[(0, 1)]
        nearest_other = max(max(cos[(0, k)], cos[(1, k)]) for k in range(2, len(sentences)))
        held &= together > nearest_other
        if worst is None or together - nearest_other < worst[0] - worst[1]:
            worst = (together, nearest_other)
    return held, f"gas–ghg {worst[0]:.2f}, nearest other {worst[1]:.2f} (worst frame)"


def apple(gpt, checkpoint):
    sentences = FRUIT + COMPANY
    answer = explore(gpt, checkpoint, "context", "apple", *sum((["--in", s] for s in sentences), []))
    def means(pairs):
        within = [c for (a, b), c in pairs.items() if (a < len(FRUIT)) == (b < len(FRUIT))]
        across = [c for (a, b), c in pairs.items() if (a < len(FRUIT)) != (b < len(FRUIT))]
        return sum(within) / len(within), sum(across) / len(across)
    within, across = means(last_layer(answer)[0])
    first = {(p["a"] - 1, p["b"] - 1): p["cosine"] for p in answer["layers"][0]["pairs"]}
    within0, across0 = means(first)
    return within > across, f"within {within:.2f}, across {across:.2f} (layer 0: {within0:.2f}, {across0:.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma list of seeds")
    parser.add_argument("--steps", type=int, default=0,
                        help="train this many steps instead of the demo's 600 (--steps 1: the model before training)")
    parser.add_argument("--gpt", default=".build/release/gpt", help="the gpt binary, relative to the repo root")
    args = parser.parse_args()
    gpt = os.path.join(ROOT, args.gpt)
    if not os.path.exists(gpt):
        fail(f"{args.gpt} not found: swift build -c release")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        fail(f"--seeds takes a comma list of whole numbers, got '{args.seeds}'")
    print("| seed | dog's nearest | cat's nearest | uncle → aunt as man → ? | plural direction | greenhouse gas ≈ ghg | apple: two senses |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            row = measure(gpt, seed, folder, args.steps)
            cells = [f"{'✓' if held else '✗'} {text}" for held, text in (row["dog"], row["cat"], row["analogy"], row["plural"], row["gas"], row["apple"])]
            print(f"| {seed} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
