"""Checks that a checkpoint saved by TinyGPT's `gpt` loads in Hugging Face transformers and gives our logits.

Run from the repository root:

    python3 Tests/Fixtures/check_hf_interop.py [CHECKPOINT_DIR] [--gpt PATH_TO_GPT_BINARY]

Needs torch and transformers (written with torch 2.13.0+cpu and transformers 5.23.0).

  * The binary defaults to .build/release/gpt, built with `swift build -c release` if it is missing.
  * Without CHECKPOINT_DIR, it first trains a small one into a temporary directory:
        gpt train --tokenizer bpe --vocab-size 400 --steps 60 --save TMPDIR/ckpt

The checks:

  1. `gpt eval --checkpoint DIR --text corpus.txt --logits ours.json` writes the IDs and logits of the
     first window of corpus.txt ({"ids", "logits" flat row-major [T, V], "rows", "cols"}).
  2. GPT2LMHeadModel.from_pretrained(DIR) loads with no missing, unexpected or mismatched keys, and its
     logits for the same IDs are within 1e-4 of ours (largest absolute difference).
  3. If DIR has vocab.json (a BPE checkpoint), GPT2Tokenizer.from_pretrained(DIR) must tokenize the first
     2,000 characters of corpus.txt as `gpt` does. `gpt eval` only writes the first window's IDs, so the
     script runs it on a file holding those 2,000 characters and requires (a) the same IDs for the first
     window, (b) the same number of predicted tokens (len(ids) - 1, so the same token count over the whole
     text) and (c) the same mean loss, as printed by `gpt eval` to 4 decimals, within 1e-3. (c) recomputes
     the eval loss in transformers with the same windows as `gpt eval`: up to n_positions + 1 tokens
     starting at 0, n_positions, 2·n_positions, ..., every token from position 1 on predicted once.

Prints what it loaded, the largest difference and PASS; on failure, one line starting FAIL, exit code 1.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import torch
import transformers
from transformers import GPT2LMHeadModel, GPT2Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "corpus.txt")
DEFAULT_GPT = os.path.join(".build", "release", "gpt")
LOGIT_TOLERANCE = 1e-4
LOSS_TOLERANCE = 1e-3            # gpt eval prints the loss to 4 decimals
TOKENIZER_CHARACTERS = 2000


class CheckFailed(Exception):
    """One line saying what went wrong."""


# -------------------------------------------------------------------------------------------------
# Running gpt


def run(command, what):
    """Runs a command from the repository root; returns its stdout and stderr together."""
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        lines = [line for line in output.splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "no output"
        raise CheckFailed(f"{what} failed (exit code {result.returncode}): {last}")
    return output


def find_gpt(path):
    """The gpt binary; the default one is built with `swift build -c release` when it is missing."""
    if os.path.isfile(os.path.join(ROOT, path)):
        return os.path.join(ROOT, path)
    if path != DEFAULT_GPT:
        raise CheckFailed(f"no gpt binary at {path}")
    print("building .build/release/gpt (swift build -c release) ...", flush=True)
    run(["swift", "build", "-c", "release"], "swift build -c release")
    return os.path.join(ROOT, path)


def train_checkpoint(gpt, directory):
    checkpoint = os.path.join(directory, "ckpt")
    print("training a checkpoint: gpt train --tokenizer bpe --vocab-size 400 --steps 60 ...", flush=True)
    run([gpt, "train", "--tokenizer", "bpe", "--vocab-size", "400", "--steps", "60",
         "--save", checkpoint, "--out", os.path.join(directory, "out")], "gpt train")
    return checkpoint


def our_eval(gpt, checkpoint, text_path, logits_path):
    """Runs gpt eval; returns ours.json's contents and gpt eval's printed output."""
    output = run([gpt, "eval", "--checkpoint", checkpoint, "--text", text_path, "--logits", logits_path],
                 "gpt eval")
    with open(logits_path, encoding="utf-8") as handle:
        ours = json.load(handle)
    for key in ("ids", "logits", "rows", "cols"):
        if key not in ours:
            raise CheckFailed(f"{logits_path} has no {key!r}")
    if ours["rows"] != len(ours["ids"]) or len(ours["logits"]) != ours["rows"] * ours["cols"]:
        raise CheckFailed(f"{logits_path}: {len(ours['ids'])} ids and {len(ours['logits'])} logits "
                          f"do not make [rows {ours['rows']}, cols {ours['cols']}]")
    return ours, output


def printed_loss(output):
    """The loss and the number of predicted tokens from gpt eval's line
    'loss 2.1234 nats per token, perplexity 8.37 (1,234 tokens of FILE predicted)'."""
    loss = re.search(r"loss\s+([0-9.]+)\s+nats per token", output)
    count = re.search(r"\(([^()]*?)\s+tokens of .* predicted\)", output)
    if not loss or not count:
        raise CheckFailed("gpt eval's output has no 'loss … nats per token … (N tokens of FILE predicted)' line")
    return float(loss.group(1)), int(re.sub(r"\D", "", count.group(1)))


# -------------------------------------------------------------------------------------------------
# The transformers side


def load_model(checkpoint):
    try:
        model, info = GPT2LMHeadModel.from_pretrained(checkpoint, output_loading_info=True)
    except Exception as error:                       # e.g. a tensor of the wrong shape, a bad config.json
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckFailed(f"GPT2LMHeadModel.from_pretrained({checkpoint}) raised: {first_line}")
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        if info.get(kind):
            raise CheckFailed(f"from_pretrained({checkpoint}): {kind.replace('_', ' ')}: {sorted(info[kind])}")
    model.float().eval()
    return model


def hf_logits(model, ids):
    """Logits [T, V] for one window: row t predicts the token after ids[t]."""
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def hf_eval_loss(model, ids):
    """Mean cross-entropy (nats) with gpt eval's windows; returns (loss, predicted tokens)."""
    context = model.config.n_positions
    total, count = 0.0, 0
    for start in range(0, len(ids), context):
        window = ids[start:start + context + 1]
        if len(window) < 2:
            break
        log_probs = torch.log_softmax(hf_logits(model, window[:-1]).double(), dim=-1)
        targets = torch.tensor(window[1:])
        total -= log_probs[torch.arange(len(targets)), targets].sum().item()
        count += len(targets)
    return total / count, count


# -------------------------------------------------------------------------------------------------
# The checks


def check_logits(gpt, checkpoint, model, work):
    ours, _ = our_eval(gpt, checkpoint, CORPUS, os.path.join(work, "ours.json"))
    if ours["cols"] != model.config.vocab_size:
        raise CheckFailed(f"our logits have {ours['cols']} columns, config.json says vocab_size {model.config.vocab_size}")
    theirs = hf_logits(model, ours["ids"]).double()
    mine = torch.tensor(ours["logits"], dtype=torch.float64).view(ours["rows"], ours["cols"])
    difference = (mine - theirs).abs().max().item()
    print(f"logits   first window of corpus.txt: [{ours['rows']}, {ours['cols']}], "
          f"max |ours - transformers| = {difference:.2e} (allowed {LOGIT_TOLERANCE:.0e})")
    if not difference <= LOGIT_TOLERANCE:
        raise CheckFailed(f"logits differ by up to {difference:.3e} (more than {LOGIT_TOLERANCE:.0e})")


def check_tokenizer(gpt, checkpoint, model, work):
    tokenizer = GPT2Tokenizer.from_pretrained(checkpoint)
    with open(CORPUS, encoding="utf-8") as handle:
        text = handle.read()[:TOKENIZER_CHARACTERS]
    text_path = os.path.join(work, "first-2000.txt")
    with open(text_path, "w", encoding="utf-8") as handle:
        handle.write(text)
    theirs = tokenizer.encode(text, add_special_tokens=False)
    print(f"tokenizer GPT2Tokenizer.from_pretrained: {len(tokenizer)} entries; "
          f"the first {len(text)} characters of corpus.txt are {len(theirs)} tokens")

    ours, output = our_eval(gpt, checkpoint, text_path, os.path.join(work, "ours-2000.json"))
    window = len(ours["ids"])
    if ours["ids"] != theirs[:window]:
        at = next((i for i, (a, b) in enumerate(zip(ours["ids"], theirs)) if a != b), len(theirs))
        their_id = theirs[at] if at < len(theirs) else "none (the text ends)"
        raise CheckFailed(f"token {at} of the first window differs: ours {ours['ids'][at]}, GPT2Tokenizer {their_id}")
    our_loss, our_count = printed_loss(output)
    their_loss, their_count = hf_eval_loss(model, theirs)
    print(f"eval     {our_count} predicted tokens (transformers: {their_count}), "
          f"loss {our_loss:.4f} (transformers: {their_loss:.4f})")
    if our_count != their_count:
        raise CheckFailed(f"gpt makes {our_count + 1} tokens of the {len(text)} characters, GPT2Tokenizer {their_count + 1}")
    if not abs(our_loss - their_loss) <= LOSS_TOLERANCE:
        raise CheckFailed(f"eval loss {our_loss:.4f} differs from transformers' {their_loss:.4f}")


def main():
    parser = argparse.ArgumentParser(description="Check that a gpt checkpoint loads in transformers.")
    parser.add_argument("checkpoint", nargs="?", help="checkpoint directory (default: train one)")
    parser.add_argument("--gpt", default=DEFAULT_GPT, help=f"the gpt binary (default {DEFAULT_GPT})")
    args = parser.parse_args()
    transformers.utils.logging.disable_progress_bar()

    try:
        with tempfile.TemporaryDirectory(prefix="hf-interop-") as work:
            gpt = find_gpt(args.gpt)
            checkpoint = os.path.abspath(args.checkpoint) if args.checkpoint else train_checkpoint(gpt, work)
            if not os.path.isfile(os.path.join(checkpoint, "config.json")):
                raise CheckFailed(f"{checkpoint} has no config.json")
            model = load_model(checkpoint)
            config = model.config
            print(f"loaded   {checkpoint} with GPT2LMHeadModel (transformers {transformers.__version__}): "
                  f"V {config.vocab_size}, context {config.n_positions}, width {config.n_embd}, "
                  f"{config.n_layer} layers, {config.n_head} heads, {config.activation_function}, "
                  f"tied {config.tie_word_embeddings}")
            check_logits(gpt, checkpoint, model, work)
            if os.path.isfile(os.path.join(checkpoint, "vocab.json")):
                check_tokenizer(gpt, checkpoint, model, work)
            else:
                print("tokenizer no vocab.json in the checkpoint (not BPE): tokenizer check skipped")
    except CheckFailed as failure:
        print(f"FAIL: {failure}")
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
