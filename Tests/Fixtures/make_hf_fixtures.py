"""Hugging Face GPT-2 fixtures for TinyGPT's checkpoint and tokenizer tests, made with `transformers`.

Regenerate (from the repository root):

    python3 Tests/Fixtures/make_hf_fixtures.py

Written with torch 2.13.0+cpu, transformers 5.23.0, tokenizers 0.23.3 and safetensors 0.8.0.

What it writes (all under Tests/Fixtures/):

  * hf-tiny/vocab.json, hf-tiny/merges.txt: a tiny GPT-2 byte-level BPE vocabulary learned from
    corpus.txt, in GPT-2's layout: IDs 0..255 are the 256 byte symbols in bytes_to_unicode listing
    order (ID 0 is "!"), then one token per merge in merge order, then "<|endoftext|>" last.
  * hf-tiny/: a GPT2LMHeadModel trained briefly on corpus.txt, exactly as `save_pretrained` writes
    it (config.json, generation_config.json, model.safetensors), plus the tokenizer's own files.
  * hf_tiny_expected.json: the model's logits for a prompt, its greedy continuation and the loss
    on the start of corpus.txt, all computed by `transformers` from the saved directory.
  * bpe_cases.json: tricky strings with the ids and tokens GPT2Tokenizer gives them.

The merges are learned with the `tokenizers` byte-level BPE trainer; the script then lays out
vocab.json itself, so the IDs follow GPT-2's layout rather than the trainer's. In transformers 5,
GPT2Tokenizer and GPT2TokenizerFast are the same class, backed by the Rust `tokenizers` library:
the slow pure-Python tokenizer is gone. So the script also carries a short copy of the original
algorithm (OpenAI's encoder.py, which the slow tokenizer was) and asserts all of them agree.

Conventions as in make_fixtures.py: tokens are rows, and every matrix is written flat, row-major.
Training runs on one CPU thread with fixed seeds, so a rerun on the same versions gives the same
files (another CPU or library version may differ in the last bits of the trained weights).
"""

import json
import math
import os
import shutil

import regex
import safetensors
import tokenizers
import torch
import transformers
from safetensors import safe_open
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer, GPT2TokenizerFast

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(OUT_DIR))
CORPUS = os.path.join(ROOT, "corpus.txt")
HF_DIR = os.path.join(OUT_DIR, "hf-tiny")

SEED = 1234
VOCAB_SIZE = 400                     # 256 byte symbols + 143 merges + "<|endoftext|>"
END_OF_TEXT = "<|endoftext|>"
CONTEXT = 32                         # n_positions
PROMPT = "I drink coffee"
NEW_TOKENS = 20
EVAL_CHARACTERS = 400

# GPT-2's pre-tokenizer pattern (encoder.py): text is split into these pieces before BPE.
GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

TRICKY_STRINGS = [
    "",
    " ",
    "   ",
    "  leading spaces",
    "trailing spaces   ",
    "a  b   c",
    "\t",
    "tab\tseparated\tvalues",
    "\n\n",
    "a\n b",
    " \n",
    "line one\nline two\n",
    "2026",
    "3.14",
    "1,000,000",
    "?!...",
    "--",
    "don't",
    "I'll",
    "she's",
    "DON'T",
    "'s'",
    "café naïve résumé",
    "Ελληνικά",
    "中文",
    "👍🏽",
    "🇫🇷",
    "👨\u200d👩\u200d👧\u200d👦",
    "I drink coffee every morning.",
    "greenhouse gas (GHG)",
    "the coffee is hot . I like coffee with milk .",
    "Hello, World!",
    "x\u00a0=\u00a0y",
]


# -------------------------------------------------------------------------------------------------
# Helpers


def to_list(tensor):
    """Flatten a tensor row-major into a list of Python floats (float32 values are exact in float64)."""
    return [float(v) for v in tensor.detach().contiguous().view(-1).tolist()]


def save_json(file_name, payload):
    """Compact UTF-8 JSON; allow_nan=False makes json refuse NaN or infinity outright."""
    path = os.path.join(OUT_DIR, file_name)
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    size = os.path.getsize(path)
    assert size < 300_000, f"{file_name} is too large ({size} bytes)"
    return size


def read_corpus():
    with open(CORPUS, encoding="utf-8") as handle:
        return handle.read()


# -------------------------------------------------------------------------------------------------
# Part 1: the byte-level BPE vocabulary


def bytes_to_unicode():
    """GPT-2's byte symbols: byte b is shown as one printable character.

    Returns the 256 (byte, character) pairs in GPT-2's listing order: the printable bytes
    "!".."~", "¡".."¬", "®".."ÿ" stand for themselves; the other 68 bytes (space, control
    characters, ...) get the characters U+0100, U+0101, ... in byte order. vocab.json lists
    the byte symbols in this same order, so ID 0 is "!" and the space symbol "Ġ" is ID 220.
    """
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    pairs = [(b, chr(b)) for b in printable]
    others = [b for b in range(256) if b not in printable]
    pairs += [(b, chr(256 + n)) for n, b in enumerate(others)]
    return pairs


def learn_merges(corpus_path, merge_count):
    """The first `merge_count` merges of the `tokenizers` byte-level BPE trainer on the corpus."""
    trainer_tokenizer = Tokenizer(models.BPE())
    trainer_tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=256 + merge_count,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    trainer_tokenizer.train([corpus_path], trainer)
    merges = json.loads(trainer_tokenizer.to_str())["model"]["merges"]
    assert len(merges) == merge_count, f"the trainer learned {len(merges)} merges, not {merge_count}"
    return [tuple(merge) for merge in merges]


def gpt2_vocabulary(merges):
    """vocab.json in GPT-2's layout: the byte symbols, then one token per merge, then END_OF_TEXT."""
    vocab = {}
    for _, symbol in bytes_to_unicode():
        vocab[symbol] = len(vocab)
    for left, right in merges:
        assert left + right not in vocab, f"merge {left} {right} makes a token that already exists"
        vocab[left + right] = len(vocab)
    vocab[END_OF_TEXT] = len(vocab)
    return vocab


def write_vocabulary_files(directory, vocab, merges):
    """vocab.json (one entry per line, in ID order) and merges.txt, as GPT-2 ships them."""
    with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as handle:
        json.dump(vocab, handle, ensure_ascii=False, indent=0)
        handle.write("\n")
    with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as handle:
        handle.write("#version: 0.2\n")
        for left, right in merges:
            handle.write(f"{left} {right}\n")


class ReferenceBPE:
    """GPT-2's own tokenizer algorithm (OpenAI's encoder.py), the pure-Python reference."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.tokens = {i: token for token, i in vocab.items()}
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.byte_symbol = dict(bytes_to_unicode())
        self.symbol_byte = {symbol: b for b, symbol in bytes_to_unicode()}

    def bpe(self, piece):
        """Merge the symbols of one piece: always the adjacent pair with the lowest merge rank."""
        parts = list(piece)
        while len(parts) > 1:
            pairs = list(zip(parts, parts[1:]))
            best = min(pairs, key=lambda pair: self.ranks.get(pair, math.inf))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(parts):                     # merge every occurrence, left to right
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return parts

    def encode(self, text):
        ids = []
        for piece in GPT2_PATTERN.findall(text):
            symbols = "".join(self.byte_symbol[b] for b in piece.encode("utf-8"))
            ids += [self.vocab[token] for token in self.bpe(symbols)]
        return ids

    def decode(self, ids):
        data = bytes(self.symbol_byte[c] for i in ids for c in self.tokens[i])
        return data.decode("utf-8", errors="replace")


def encode(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False)


def decode(tokenizer, ids):
    return tokenizer.decode(ids, clean_up_tokenization_spaces=False)


def check_tokenizers_agree(reference, tokenizer, fast, texts):
    """The reference, GPT2Tokenizer and GPT2TokenizerFast give the same ids, and decode round-trips."""
    for text in texts:
        ids = encode(tokenizer, text)
        assert ids == reference.encode(text), f"GPT2Tokenizer and the reference differ on {text!r}"
        assert ids == encode(fast, text), f"GPT2Tokenizer and GPT2TokenizerFast differ on {text!r}"
        assert decode(tokenizer, ids) == text, f"decode(encode(s)) != s for {text!r}"
        assert reference.decode(ids) == text, f"the reference does not round-trip {text!r}"


def bpe_cases(tokenizer):
    cases = []
    for text in TRICKY_STRINGS:
        ids = encode(tokenizer, text)
        cases.append({"text": text, "ids": ids, "tokens": tokenizer.convert_ids_to_tokens(ids)})
    return {"vocab": "hf-tiny/vocab.json", "merges": "hf-tiny/merges.txt", "cases": cases}


# -------------------------------------------------------------------------------------------------
# Part 2: the tiny GPT-2 model


def tiny_config(vocab_size, end_of_text_id):
    return GPT2Config(
        vocab_size=vocab_size, n_positions=CONTEXT, n_embd=16, n_layer=2, n_head=2,
        activation_function="gelu_new", tie_word_embeddings=True, layer_norm_epsilon=1e-5,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,           # no dropout, like TinyGPT
        bos_token_id=end_of_text_id, eos_token_id=end_of_text_id,
    )


def perturb_parameters(model):
    """The init sets LayerNorm weights to 1 and every bias to 0; move them all away from that,
    so a loader that drops or swaps any of them gives visibly different logits."""
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if ".ln_" in name and name.endswith(".weight"):
                tensor.copy_(1.0 + 0.1 * torch.randn_like(tensor))
            elif name.endswith(".bias"):
                tensor.copy_(0.1 * torch.randn_like(tensor))


def check_non_trivial(model):
    for name, tensor in model.named_parameters():
        if ".ln_" in name and name.endswith(".weight"):
            assert (tensor - 1).abs().min() > 1e-4, f"{name} has entries equal to 1"
        else:
            assert tensor.abs().min() > 0 and tensor.std() > 1e-3, f"{name} looks trivial"


def train(model, ids, steps=1500, batch=16, lr=3e-3):
    """AdamW on random windows of CONTEXT + 1 tokens of the corpus."""
    data = torch.tensor(ids)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    model.train()
    for step in range(steps):
        starts = torch.randint(0, len(ids) - CONTEXT - 1, (batch,))
        windows = torch.stack([data[s:s + CONTEXT + 1] for s in starts])
        logits = model(windows[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), windows[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 500 == 0 or step == steps - 1:
            print(f"  training step {step}: loss {loss.item():.3f}")
    model.eval()


def saved_tensor_names(directory):
    with safe_open(os.path.join(directory, "model.safetensors"), framework="pt") as handle:
        return sorted(handle.keys())


def load_saved_model(directory):
    model, info = GPT2LMHeadModel.from_pretrained(directory, output_loading_info=True)
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        assert not info.get(kind), f"loading {directory}: {kind} {info[kind]}"
    model.eval()
    return model


# -------------------------------------------------------------------------------------------------
# Part 3: what the model computes


def logits_for(model, ids):
    """Logits [T, V] for one window of ids: row t predicts the token after ids[t]."""
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def greedy(model, prompt_ids, end_of_text_id):
    """model.generate's greedy ids and the smallest top-1 minus top-2 gap along that path."""
    with torch.no_grad():
        output = model.generate(
            torch.tensor([prompt_ids]), attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long),
            do_sample=False, max_new_tokens=NEW_TOKENS, pad_token_id=end_of_text_id,
        )
    greedy_ids = output[0].tolist()
    assert greedy_ids[:len(prompt_ids)] == prompt_ids and len(greedy_ids) == len(prompt_ids) + NEW_TOKENS

    # Replay the path in one forward pass: every choice is the argmax, by a margin.
    logits = logits_for(model, greedy_ids[:-1])
    margins = []
    for t in range(len(prompt_ids) - 1, len(greedy_ids) - 1):
        top2 = torch.topk(logits[t], 2)
        assert top2.indices[0].item() == greedy_ids[t + 1], f"generate's choice at {t + 1} is not the argmax"
        margins.append((top2.values[0] - top2.values[1]).item())
    return greedy_ids, min(margins)


def eval_text(corpus):
    """The first lines of the corpus, up to EVAL_CHARACTERS characters, ending with a newline."""
    end = corpus.rindex("\n", 0, EVAL_CHARACTERS) + 1
    return corpus[:end]


def eval_loss(model, ids):
    """Mean cross-entropy (nats) over every token from position 1 on, each predicted exactly once.

    Windows of up to CONTEXT + 1 tokens start at 0, CONTEXT, 2·CONTEXT, ...; consecutive windows
    share one token. A window predicts its tokens 1..end from the tokens before them.
    """
    total, count = 0.0, 0
    for start in range(0, len(ids), CONTEXT):
        window = ids[start:start + CONTEXT + 1]
        if len(window) < 2:
            break
        logits = logits_for(model, window[:-1]).to(torch.float64)
        log_probs = torch.log_softmax(logits, dim=-1)
        targets = torch.tensor(window[1:])
        total -= log_probs[torch.arange(len(targets)), targets].sum().item()
        count += len(targets)
    assert count == len(ids) - 1
    return total / count


# -------------------------------------------------------------------------------------------------


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    corpus = read_corpus()

    # 1. The vocabulary, in GPT-2's layout, written where every later step reads it from.
    merges = learn_merges(CORPUS, VOCAB_SIZE - 257)
    vocab = gpt2_vocabulary(merges)
    assert len(vocab) == VOCAB_SIZE and vocab["!"] == 0 and vocab["Ġ"] == 220
    shutil.rmtree(HF_DIR, ignore_errors=True)
    os.makedirs(HF_DIR)
    write_vocabulary_files(HF_DIR, vocab, merges)

    # from_pretrained, not the constructor: in transformers 5, GPT2Tokenizer(vocab_file=...,
    # merges_file=...) silently ignores the files and makes an empty tokenizer.
    tokenizer = GPT2Tokenizer.from_pretrained(HF_DIR)
    fast = GPT2TokenizerFast.from_pretrained(HF_DIR)
    assert len(tokenizer) == VOCAB_SIZE and tokenizer.eos_token_id == vocab[END_OF_TEXT]
    reference = ReferenceBPE(vocab, merges)
    check_tokenizers_agree(reference, tokenizer, fast, [corpus] + corpus.splitlines() + TRICKY_STRINGS)
    corpus_ids = encode(tokenizer, corpus)
    print(f"hf-tiny/vocab.json, hf-tiny/merges.txt: {len(vocab)} entries ({len(merges)} merges); "
          f"corpus.txt is {len(corpus_ids)} tokens")

    # 2. The model: perturbed init, brief training, save_pretrained (and the tokenizer's files).
    end_of_text_id = vocab[END_OF_TEXT]
    model = GPT2LMHeadModel(tiny_config(VOCAB_SIZE, end_of_text_id))
    perturb_parameters(model)
    train(model, corpus_ids)
    check_non_trivial(model)
    model.save_pretrained(HF_DIR)
    written = tokenizer.save_pretrained(HF_DIR)

    # Everything below uses what was saved, loaded back as a user of the checkpoint would.
    model = load_saved_model(HF_DIR)
    saved = GPT2Tokenizer.from_pretrained(HF_DIR)
    check_tokenizers_agree(reference, saved, fast, [corpus] + TRICKY_STRINGS)
    with open(os.path.join(HF_DIR, "vocab.json"), encoding="utf-8") as handle:
        assert json.load(handle) == vocab, "save_pretrained changed vocab.json"
    names = saved_tensor_names(HF_DIR)
    files = sorted(os.listdir(HF_DIR))
    size = sum(os.path.getsize(os.path.join(HF_DIR, f)) for f in files)
    print(f"hf-tiny/: {', '.join(files)}; {size} bytes "
          f"(the tokenizer's save_pretrained wrote {', '.join(os.path.basename(p) for p in written)})")
    print(f"hf-tiny/model.safetensors: {len(names)} tensors: {', '.join(names)}")

    # 3. What the saved model computes.
    prompt_ids = encode(saved, PROMPT)
    logits = logits_for(model, prompt_ids)
    greedy_ids, min_margin = greedy(model, prompt_ids, end_of_text_id)
    assert min_margin > 1e-3, f"a greedy choice is too close to call (margin {min_margin})"
    text = eval_text(corpus)
    text_ids = encode(saved, text)
    loss = eval_loss(model, text_ids)
    expected = {
        "prompt": PROMPT,
        "prompt_ids": prompt_ids,
        "logits": to_list(logits),
        "rows": logits.shape[0],
        "cols": logits.shape[1],
        "greedy_ids": greedy_ids,
        "greedy_text": decode(saved, greedy_ids),
        "min_margin": min_margin,
        "eval": {"text": text, "ids": text_ids, "loss": loss, "perplexity": math.exp(loss)},
    }
    size = save_json("hf_tiny_expected.json", expected)
    print(f"hf_tiny_expected.json: {expected['greedy_text']!r}, min_margin {min_margin:.4f}, "
          f"eval loss {loss:.4f} over {len(text_ids) - 1} tokens, {size} bytes")

    # 4. Tokenizer cases.
    cases = bpe_cases(saved)
    size = save_json("bpe_cases.json", cases)
    print(f"bpe_cases.json: {len(cases['cases'])} cases, {size} bytes")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"tokenizers {tokenizers.__version__}, safetensors {safetensors.__version__}")


if __name__ == "__main__":
    main()
