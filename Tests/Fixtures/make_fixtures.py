"""Writes the PyTorch fixtures the Swift tests compare against (Tests/TinyGPTTests/FixtureTests.swift).

    python3 Tests/Fixtures/make_fixtures.py        # needs a CPU PyTorch: pip install "torch==2.13.0+cpu"

An independent implementation of TinyGPT's model, written with PyTorch tensors and autograd:
the same convention (tokens are rows, Y = X @ W + b with W stored [in, out], GPT-2's Conv1D
layout, so no nn.Linear), the same switches (Pre-LN/Post-LN, GELU/ReLU, learned/sinusoidal
positions, tied/untied unembedding). Everything is computed in float64 from parameters that are
exactly representable in float32, so the Swift code (Float) starts from the same numbers and
the difference measures only its own rounding. Arrays in the JSON are flat and row-major.
"""
import json
import math
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20261123)


def draw(*shape, std=1.0, mean=0.0):
    """float32 normal draws, then float64: exactly representable in Float."""
    return (torch.randn(*shape, dtype=torch.float32) * std + mean).to(torch.float64)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


# ---------------------------------------------------------------------------------------------
# The model, as the Swift chapters describe it.

def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)          # biased, as GPT-2
    return weight * (x - mean) / torch.sqrt(variance + eps) + bias


def gelu(h):                                                          # GPT-2's tanh approximation
    return 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))


def attention(x, p, prefix, heads, T):
    """x [B·T, C] → [B·T, C]; also returns each window's and head's weights."""
    C = x.shape[1]
    D = C // heads
    qkv = x @ p[prefix + "attn.c_attn.weight"] + p[prefix + "attn.c_attn.bias"]      # [B·T, 3C]
    outputs, weights = [], []
    for b in range(x.shape[0] // T):
        rows = qkv[b * T:(b + 1) * T]
        head_outputs = []
        for h in range(heads):
            q = rows[:, h * D:(h + 1) * D]
            k = rows[:, C + h * D:C + (h + 1) * D]
            v = rows[:, 2 * C + h * D:2 * C + (h + 1) * D]
            scores = q @ k.T / math.sqrt(D)
            future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)     # j > i
            a = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
            weights.append(a)
            head_outputs.append(a @ v)
        outputs.append(torch.cat(head_outputs, dim=1))
    concatenated = torch.cat(outputs, dim=0)
    return concatenated @ p[prefix + "attn.c_proj.weight"] + p[prefix + "attn.c_proj.bias"], weights


def feed_forward(x, p, prefix, activation):
    h = x @ p[prefix + "mlp.c_fc.weight"] + p[prefix + "mlp.c_fc.bias"]
    r = gelu(h) if activation == "gelu" else torch.relu(h)
    return r @ p[prefix + "mlp.c_proj.weight"] + p[prefix + "mlp.c_proj.bias"]


def sinusoidal(context, width):
    table = torch.zeros(context, width, dtype=torch.float64)
    for t in range(context):
        for c in range(width):
            angle = t / 10000 ** ((c // 2 * 2) / width)
            table[t, c] = math.sin(angle) if c % 2 == 0 else math.cos(angle)
    return table


def forward(p, config, tokens, T):
    """tokens [B·T] → logits [B·T, V], and X₀ (kept so its gradient can be read)."""
    positions = p["wpe.weight"] if config["positions"] == "learned" else sinusoidal(config["n_positions"], config["n_embd"])
    x0 = p["wte.weight"][tokens] + positions[torch.arange(len(tokens)) % T]
    x0.retain_grad()
    x = x0
    for l in range(config["n_layer"]):
        pre = f"h.{l}."
        if config["norm"] == "pre":
            x = x + attention(layer_norm(x, p[pre + "ln_1.weight"], p[pre + "ln_1.bias"]), p, pre, config["n_head"], T)[0]
            x = x + feed_forward(layer_norm(x, p[pre + "ln_2.weight"], p[pre + "ln_2.bias"]), p, pre, config["activation"])
        else:
            x = layer_norm(x + attention(x, p, pre, config["n_head"], T)[0], p[pre + "ln_1.weight"], p[pre + "ln_1.bias"])
            x = layer_norm(x + feed_forward(x, p, pre, config["activation"]), p[pre + "ln_2.weight"], p[pre + "ln_2.bias"])
    if config["norm"] == "pre":
        x = layer_norm(x, p["ln_f.weight"], p["ln_f.bias"])
    unembedding = p["wte.weight"] if config["tied"] else p["lm_head.weight"]
    return x @ unembedding.T, x0


def parameter_shapes(config):
    V, P, C, L = config["vocab_size"], config["n_positions"], config["n_embd"], config["n_layer"]
    shapes = {"wte.weight": (V, C)}
    if config["positions"] == "learned":
        shapes["wpe.weight"] = (P, C)
    for l in range(L):
        pre = f"h.{l}."
        shapes.update({pre + "ln_1.weight": (C,), pre + "ln_1.bias": (C,),
                       pre + "attn.c_attn.weight": (C, 3 * C), pre + "attn.c_attn.bias": (3 * C,),
                       pre + "attn.c_proj.weight": (C, C), pre + "attn.c_proj.bias": (C,),
                       pre + "ln_2.weight": (C,), pre + "ln_2.bias": (C,),
                       pre + "mlp.c_fc.weight": (C, 4 * C), pre + "mlp.c_fc.bias": (4 * C,),
                       pre + "mlp.c_proj.weight": (4 * C, C), pre + "mlp.c_proj.bias": (C,)})
    if config["norm"] == "pre":
        shapes.update({"ln_f.weight": (C,), "ln_f.bias": (C,)})
    if not config["tied"]:
        shapes["lm_head.weight"] = (V, C)
    return shapes


def initial_parameters(config):
    """Large draws (weights N(0, 0.3²)), far from GPT-2's 0.02, so logits and gradients are not tiny."""
    p = {}
    for name, shape in parameter_shapes(config).items():
        if name.startswith("ln") or ".ln_" in name:
            p[name] = draw(*shape, std=0.1, mean=1.0 if name.endswith("weight") else 0.0)
        elif name.endswith("bias"):
            p[name] = draw(*shape, std=0.1)
        else:
            p[name] = draw(*shape, std=0.3)
    return p


# ---------------------------------------------------------------------------------------------
# The fixtures.

def model_fixture(norm, activation, tied, positions):
    config = {"vocab_size": 11, "n_positions": 6, "n_embd": 8, "n_layer": 2, "n_head": 2, "norm": norm,
              "activation": activation, "positions": positions, "tied": tied, "layer_norm_epsilon": 1e-5}
    B, T = 2, 5
    params = initial_parameters(config)
    tokens = torch.randint(0, config["vocab_size"], (B * T,))
    targets = torch.randint(0, config["vocab_size"], (B * T,))
    p = {name: value.clone().requires_grad_(True) for name, value in params.items()}
    logits, x0 = forward(p, config, tokens, T)
    loss = torch.nn.functional.cross_entropy(logits, targets)
    loss.backward()
    if tied:                                           # the tied logits are the untied ones with lm_head = wte
        untied = dict(p, **{"lm_head.weight": p["wte.weight"]})
        check, _ = forward(untied, dict(config, tied=False), tokens, T)
        assert torch.allclose(check, logits)

    # One training step: clip the global norm to 1, then AdamW with decay on matrices only.
    step = {"lr": 0.01, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1, "clip": 1.0}
    trained = {name: value.clone().requires_grad_(True) for name, value in params.items()}
    for name in trained:
        trained[name].grad = p[name].grad.clone()
    grad_norm = torch.nn.utils.clip_grad_norm_(list(trained.values()), step["clip"])
    optimizer = torch.optim.AdamW(
        [{"params": [v for v in trained.values() if v.dim() == 2], "weight_decay": step["weight_decay"]},
         {"params": [v for v in trained.values() if v.dim() != 2], "weight_decay": 0.0}],
        lr=step["lr"], betas=(step["beta1"], step["beta2"]), eps=step["eps"])
    optimizer.step()
    step["grad_norm"] = float(grad_norm)
    step["params_after"] = {name: flat(value) for name, value in trained.items()}

    return {"config": config, "batch": B, "time": T, "tokens": tokens.tolist(), "targets": targets.tolist(),
            "params": {name: flat(value) for name, value in params.items()},
            "logits": flat(logits), "loss": float(loss.detach()),
            "grads": {name: flat(value.grad) for name, value in p.items()},
            "d_embedding": flat(x0.grad), "step": step}


def attention_fixture():
    C, H, T = 8, 2, 5
    p = {"attn.c_attn.weight": draw(C, 3 * C, std=0.5), "attn.c_attn.bias": draw(3 * C, std=0.1),
         "attn.c_proj.weight": draw(C, C, std=0.5), "attn.c_proj.bias": draw(C, std=0.1)}
    p = {name: value.requires_grad_(True) for name, value in p.items()}
    x = draw(T, C).requires_grad_(True)
    d_out = draw(T, C)
    out, weights = attention(x, p, "", H, T)
    for a in weights:
        assert torch.allclose(a.sum(dim=-1), torch.ones(T, dtype=torch.float64))
    (out * d_out).sum().backward()                     # upstream gradient d_out
    return {"x": flat(x), "c_attn.weight": flat(p["attn.c_attn.weight"]), "c_attn.bias": flat(p["attn.c_attn.bias"]),
            "c_proj.weight": flat(p["attn.c_proj.weight"]), "c_proj.bias": flat(p["attn.c_proj.bias"]),
            "heads": H, "weights": [flat(a) for a in weights], "out": flat(out), "d_out": flat(d_out),
            "d_x": flat(x.grad), "d_c_attn.weight": flat(p["attn.c_attn.weight"].grad),
            "d_c_attn.bias": flat(p["attn.c_attn.bias"].grad), "d_c_proj.weight": flat(p["attn.c_proj.weight"].grad),
            "d_c_proj.bias": flat(p["attn.c_proj.bias"].grad)}


def adamw_fixture():
    """Ten AdamW steps in float32 (what the Swift code computes in), with warm-up + cosine,
    clipping that bites on some steps and not others, and decay on the matrix only."""
    schedule = {"max_lr": 0.1, "min_lr": 0.01, "warmup": 3, "total": 10}

    def lr_at(s):
        if s < schedule["warmup"]:
            return schedule["max_lr"] * (s + 1) / schedule["warmup"]
        progress = (s - schedule["warmup"]) / (schedule["total"] - schedule["warmup"])
        return schedule["min_lr"] + 0.5 * (schedule["max_lr"] - schedule["min_lr"]) * (1 + math.cos(math.pi * progress))

    matrix = torch.randn(3, 4, dtype=torch.float32).requires_grad_(True)
    vector = torch.randn(4, dtype=torch.float32).requires_grad_(True)
    initial = {"matrix": flat(matrix), "vector": flat(vector)}
    optimizer = torch.optim.AdamW([{"params": [matrix], "weight_decay": 0.1}, {"params": [vector], "weight_decay": 0.0}],
                                  lr=schedule["max_lr"], betas=(0.9, 0.95), eps=1e-8)
    scales = [5, 0.05, 1, 5, 0.05, 2, 0.1, 5, 1, 0.05]     # norms above and below the clip of 1
    lrs, grads, norms, after = [], [], [], []
    for s in range(10):
        g_matrix = torch.randn(3, 4, dtype=torch.float32) * scales[s]
        g_vector = torch.randn(4, dtype=torch.float32) * scales[s]
        grads.append({"matrix": flat(g_matrix), "vector": flat(g_vector)})
        matrix.grad, vector.grad = g_matrix.clone(), g_vector.clone()
        norms.append(float(torch.nn.utils.clip_grad_norm_([matrix, vector], 1.0)))
        for group in optimizer.param_groups:
            group["lr"] = lr_at(s)
        lrs.append(lr_at(s))
        optimizer.step()
        after.append({"matrix": flat(matrix), "vector": flat(vector)})
    assert any(n > 1 for n in norms) and any(n < 1 for n in norms)
    return {"schedule": schedule, "lrs": lrs, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1,
            "clip": 1.0, "initial": initial, "grads": grads, "grad_norms": norms, "after": after}


def write(name, fixture):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"{name}: {os.path.getsize(os.path.join(HERE, name)):,} bytes" + (f", loss {fixture['loss']:.6f}" if "loss" in fixture else ""))


if __name__ == "__main__":
    for norm, activation, tied, positions in [("pre", "gelu", True, "learned"), ("post", "relu", False, "sinusoidal"),
                                              ("pre", "relu", False, "sinusoidal"), ("post", "gelu", True, "learned")]:
        write(f"model_{norm}_{activation}_{'tied' if tied else 'untied'}_{positions}.json",
              model_fixture(norm, activation, tied, positions))
    write("attention_single.json", attention_fixture())
    write("adamw.json", adamw_fixture())
    print(f"torch {torch.__version__}")
