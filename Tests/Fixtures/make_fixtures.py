"""Reference fixtures for TinyGPT's Swift tests, computed with PyTorch.

Regenerate (from the repository root):

    python3 Tests/Fixtures/make_fixtures.py

Needs a CPU build of PyTorch (written with torch 2.13.0+cpu).

This is an independent re-implementation of the TinyGPT model with plain tensor operations and
autograd. It follows the project's conventions:

  * tokens are rows: every activation is a [rows, cols] matrix with one token per row;
  * a linear layer is Y = X @ W + b with W stored [in, out] (GPT-2's Conv1D layout), so the
    script uses explicit matmuls and never nn.Linear (which stores [out, in]);
  * every array written to JSON is flattened in row-major (C) order.

Model fixtures are computed in float64, starting from parameter values that were drawn in float32,
so the Swift code (Float) starts from exactly the same numbers and any difference is its own
rounding. The AdamW fixture is computed in float32, like the Swift optimizer.
"""

import json
import math
import os

import torch

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
SEED = 1234
LAYER_NORM_EPSILON = 1e-5


# -------------------------------------------------------------------------------------------------
# Helpers


def normal_f32(shape, mean=0.0, std=1.0):
    """Draw N(mean, std^2) in float32 and widen to float64: exactly representable in Float."""
    values = torch.randn(shape, dtype=torch.float32) * std + mean
    return values.to(torch.float64)


def to_list(tensor):
    """Flatten a tensor row-major into a list of Python floats (repr keeps full precision)."""
    return [float(v) for v in tensor.detach().contiguous().view(-1).tolist()]


def save_json(file_name, payload):
    """Compact JSON; allow_nan=False makes json refuse NaN or infinity outright."""
    path = os.path.join(OUT_DIR, file_name)
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    with open(path, "w") as handle:
        handle.write(text)
    size = os.path.getsize(path)
    assert size < 300_000, f"{file_name} is too large ({size} bytes)"
    return size


# -------------------------------------------------------------------------------------------------
# Model pieces (float64 throughout)


def layer_norm(x, gamma, beta):
    """LayerNorm over the last dimension with the biased (population) variance."""
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) * (x - mu)).mean(dim=-1, keepdim=True)
    return gamma * (x - mu) / torch.sqrt(var + LAYER_NORM_EPSILON) + beta


def gelu_tanh(x):
    """GPT-2's GELU, the tanh approximation."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def activation_fn(name):
    return gelu_tanh if name == "gelu" else torch.relu


def sinusoidal_table(n_positions, width):
    """PE[t, 2i] = sin(t / 10000^(2i/C)), PE[t, 2i+1] = cos(t / 10000^(2i/C)); C must be even."""
    assert width % 2 == 0
    t = torch.arange(n_positions, dtype=torch.float64).unsqueeze(1)          # [P, 1]
    two_i = torch.arange(0, width, 2, dtype=torch.float64).unsqueeze(0)      # [1, C/2]
    angles = t / torch.pow(torch.tensor(10000.0, dtype=torch.float64), two_i / width)
    table = torch.zeros(n_positions, width, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles)
    return table


def causal_self_attention(x, w_attn, b_attn, w_proj, b_proj, n_head, window):
    """Multi-head causal self-attention.

    x: [B*T, C], the rows of B windows of `window` tokens each, window after window.
    Returns the output [B*T, C] and the attention weights [B, H, T, T] (after softmax).
    """
    rows, width = x.shape
    batch = rows // window
    head_width = width // n_head

    qkv = x @ w_attn + b_attn                                                 # [B*T, 3C]
    q, k, v = qkv[:, :width], qkv[:, width:2 * width], qkv[:, 2 * width:]

    def split_heads(m):
        # [B*T, C] -> [B, H, T, hs]: head h takes columns h*hs:(h+1)*hs.
        return m.reshape(batch, window, n_head, head_width).permute(0, 2, 1, 3)

    q, k, v = split_heads(q), split_heads(k), split_heads(v)
    scores = q @ k.transpose(-1, -2) / math.sqrt(head_width)                  # [B, H, T, T]
    # Entry (i, j) with j > i looks at the future: excluded.
    future = torch.ones(window, window, dtype=torch.bool).triu(diagonal=1)
    scores = scores.masked_fill(future, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    heads_out = weights @ v                                                   # [B, H, T, hs]
    # Concatenate heads along columns, in head order -> [B*T, C].
    merged = heads_out.permute(0, 2, 1, 3).reshape(rows, width)
    return merged @ w_proj + b_proj, weights


def mlp(x, w_fc, b_fc, w_proj, b_proj, activation):
    return activation_fn(activation)(x @ w_fc + b_fc) @ w_proj + b_proj


def parameter_shapes(cfg):
    """The parameters of one model variant, by GPT-2 name, in a fixed order."""
    V, P, C, L = cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_layer"]
    shapes = [("wte.weight", (V, C))]
    if cfg["positions"] == "learned":
        shapes.append(("wpe.weight", (P, C)))
    for layer in range(L):
        h = f"h.{layer}."
        shapes += [
            (h + "ln_1.weight", (C,)), (h + "ln_1.bias", (C,)),
            (h + "attn.c_attn.weight", (C, 3 * C)), (h + "attn.c_attn.bias", (3 * C,)),
            (h + "attn.c_proj.weight", (C, C)), (h + "attn.c_proj.bias", (C,)),
            (h + "ln_2.weight", (C,)), (h + "ln_2.bias", (C,)),
            (h + "mlp.c_fc.weight", (C, 4 * C)), (h + "mlp.c_fc.bias", (4 * C,)),
            (h + "mlp.c_proj.weight", (4 * C, C)), (h + "mlp.c_proj.bias", (C,)),
        ]
    if cfg["norm"] == "pre":
        shapes += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    if not cfg["tied"]:
        shapes.append(("lm_head.weight", (V, C)))
    return shapes


def init_parameters(cfg):
    """Weights N(0, 0.3^2), biases N(0, 0.1^2), LayerNorm gamma 1 + N(0, 0.1^2), beta N(0, 0.1^2)."""
    params = {}
    for name, shape in parameter_shapes(cfg):
        is_layer_norm = ".ln_" in name or name.startswith("ln_")
        if is_layer_norm and name.endswith(".weight"):
            params[name] = normal_f32(shape, mean=1.0, std=0.1)
        elif name.endswith(".bias"):
            params[name] = normal_f32(shape, std=0.1)
        else:
            params[name] = normal_f32(shape, std=0.3)
    return params


def gpt_forward(params, cfg, tokens, window):
    """tokens: flat [B*T] ints. Returns logits [B*T, V] and x0, the embedding sum (block input)."""
    C = cfg["n_embd"]
    t_index = torch.arange(tokens.numel()) % window                          # position of each row
    if cfg["positions"] == "learned":
        pos = params["wpe.weight"][t_index]
    else:
        pos = sinusoidal_table(cfg["n_positions"], C)[t_index]
    x0 = params["wte.weight"][tokens] + pos
    x = x0
    for layer in range(cfg["n_layer"]):
        h = f"h.{layer}."

        def attn(inp):
            out, _ = causal_self_attention(
                inp, params[h + "attn.c_attn.weight"], params[h + "attn.c_attn.bias"],
                params[h + "attn.c_proj.weight"], params[h + "attn.c_proj.bias"],
                cfg["n_head"], window)
            return out

        def ff(inp):
            return mlp(inp, params[h + "mlp.c_fc.weight"], params[h + "mlp.c_fc.bias"],
                       params[h + "mlp.c_proj.weight"], params[h + "mlp.c_proj.bias"],
                       cfg["activation"])

        def ln1(inp):
            return layer_norm(inp, params[h + "ln_1.weight"], params[h + "ln_1.bias"])

        def ln2(inp):
            return layer_norm(inp, params[h + "ln_2.weight"], params[h + "ln_2.bias"])

        if cfg["norm"] == "pre":          # GPT-2: normalise the branch input
            x = x + attn(ln1(x))
            x = x + ff(ln2(x))
        else:                             # original Transformer: normalise after the residual sum
            x = ln1(x + attn(x))
            x = ln2(x + ff(x))
    if cfg["norm"] == "pre":              # Post-LN has no final LayerNorm
        x = layer_norm(x, params["ln_f.weight"], params["ln_f.bias"])
    unembedding = params["wte.weight"] if cfg["tied"] else params["lm_head.weight"]
    return x @ unembedding.T, x0


def is_decayed(name, tensor):
    """Weight decay only on 2-D parameters (embeddings and linear weights)."""
    return tensor.dim() == 2


# -------------------------------------------------------------------------------------------------
# Fixture 1: whole-model fixtures


def model_fixture(norm, activation, tied, positions):
    cfg = {
        "vocab_size": 11, "n_positions": 6, "n_embd": 8, "n_layer": 2, "n_head": 2,
        "norm": norm, "activation": activation, "positions": positions, "tied": tied,
        "layer_norm_epsilon": LAYER_NORM_EPSILON,
    }
    B, T = 2, 5
    initial = init_parameters(cfg)
    for value in initial.values():                                            # Float-exact inputs
        assert torch.equal(value.to(torch.float32).to(torch.float64), value)
    tokens = torch.randint(0, cfg["vocab_size"], (B * T,))
    targets = torch.randint(0, cfg["vocab_size"], (B * T,))

    # Forward and backward with autograd.
    leaves = {name: value.clone().requires_grad_(True) for name, value in initial.items()}
    logits, x0 = gpt_forward(leaves, cfg, tokens, T)
    x0.retain_grad()
    loss = torch.nn.functional.cross_entropy(logits, targets)                # mean, natural log
    loss.backward()
    assert math.isfinite(loss.item()), "loss is not finite"

    # Self-check: the tied model is the untied model with lm_head = wte.
    if tied:
        with torch.no_grad():
            as_untied = dict(leaves)
            as_untied["lm_head.weight"] = leaves["wte.weight"]
            untied_logits, _ = gpt_forward(as_untied, dict(cfg, tied=False), tokens, T)
        assert torch.allclose(untied_logits, logits, rtol=0, atol=1e-12)

    # One training step: clip the global gradient norm to 1, then AdamW (decay on 2-D only).
    step = {"lr": 0.01, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1, "clip": 1.0}
    trained = {name: value.clone().requires_grad_(True) for name, value in initial.items()}
    for name, tensor in trained.items():
        tensor.grad = leaves[name].grad.clone()
    grad_norm = torch.nn.utils.clip_grad_norm_(list(trained.values()), max_norm=step["clip"])
    groups = [
        {"params": [t for n, t in trained.items() if is_decayed(n, t)], "weight_decay": step["weight_decay"]},
        {"params": [t for n, t in trained.items() if not is_decayed(n, t)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=step["lr"], betas=(step["beta1"], step["beta2"]), eps=step["eps"])
    optimizer.step()
    step["grad_norm"] = float(grad_norm)
    step["params_after"] = {name: to_list(tensor) for name, tensor in trained.items()}

    fixture = {
        "config": cfg,
        "batch": B,
        "time": T,
        "tokens": [int(t) for t in tokens.tolist()],
        "targets": [int(t) for t in targets.tolist()],
        "params": {name: to_list(value) for name, value in initial.items()},
        "logits": to_list(logits),
        "loss": float(loss.item()),
        "grads": {name: to_list(tensor.grad) for name, tensor in leaves.items()},
        "d_embedding": to_list(x0.grad),
        "step": step,
    }
    return fixture


# -------------------------------------------------------------------------------------------------
# Fixture 2: AdamW alone (float32)


def schedule_lr(s, max_lr, min_lr, warmup, total):
    """Linear warm-up for `warmup` steps, then cosine decay from max_lr to min_lr (0-based step s)."""
    if s < warmup:
        return max_lr * (s + 1) / warmup
    progress = (s - warmup) / (total - warmup)
    return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def adamw_fixture():
    # Computed in float32 torch, which is what the Swift optimizer computes in.
    schedule = {"max_lr": 0.1, "min_lr": 0.01, "warmup": 3, "total": 10}
    beta1, beta2, eps, weight_decay, clip = 0.9, 0.95, 1e-8, 0.1, 1.0

    matrix = torch.randn(3, 4, dtype=torch.float32).requires_grad_(True)     # decayed
    vector = torch.randn(4, dtype=torch.float32).requires_grad_(True)        # not decayed
    initial = {"matrix": to_list(matrix), "vector": to_list(vector)}
    optimizer = torch.optim.AdamW(
        [{"params": [matrix], "weight_decay": weight_decay}, {"params": [vector], "weight_decay": 0.0}],
        lr=schedule["max_lr"], betas=(beta1, beta2), eps=eps)

    # Gradient scale per step: 5 makes clipping bite, 0.05 keeps the norm well below 1.
    scales = [5.0, 1.0, 0.05, 5.0, 0.05, 1.0, 5.0, 0.05, 1.0, 5.0]
    lrs, grads, norms, after = [], [], [], []
    for s in range(10):
        g_matrix = torch.randn(3, 4, dtype=torch.float32) * scales[s]
        g_vector = torch.randn(4, dtype=torch.float32) * scales[s]
        grads.append({"matrix": to_list(g_matrix), "vector": to_list(g_vector)})
        matrix.grad = g_matrix.clone()
        vector.grad = g_vector.clone()
        norm = torch.nn.utils.clip_grad_norm_([matrix, vector], max_norm=clip)
        norms.append(float(norm))
        lr = schedule_lr(s, **schedule)
        lrs.append(lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
        after.append({"matrix": to_list(matrix), "vector": to_list(vector)})

    assert any(n > clip for n in norms) and any(n < clip for n in norms), norms
    return {
        "schedule": schedule, "lrs": lrs,
        "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": weight_decay, "clip": clip,
        "initial": initial, "grads": grads, "grad_norms": norms, "after": after,
    }


def check_adamw_by_hand(fx):
    """Replays adamw.json with the textbook formulas in float64 to document what torch does."""
    p = {k: torch.tensor(v, dtype=torch.float64) for k, v in fx["initial"].items()}
    m = {k: torch.zeros_like(v) for k, v in p.items()}
    v2 = {k: torch.zeros_like(v) for k, v in p.items()}
    for s in range(10):
        g = {k: torch.tensor(vals, dtype=torch.float64) for k, vals in fx["grads"][s].items()}
        norm = math.sqrt(sum(float((t * t).sum()) for t in g.values()))
        coef = min(1.0, fx["clip"] / (norm + 1e-6))
        lr, t = fx["lrs"][s], s + 1
        for k in p:
            grad = g[k] * coef
            if k == "matrix":                                                 # decoupled decay
                p[k] = p[k] * (1 - lr * fx["weight_decay"])
            m[k] = fx["beta1"] * m[k] + (1 - fx["beta1"]) * grad
            v2[k] = fx["beta2"] * v2[k] + (1 - fx["beta2"]) * grad * grad
            m_hat = m[k] / (1 - fx["beta1"] ** t)
            v_hat = v2[k] / (1 - fx["beta2"] ** t)
            p[k] = p[k] - lr * m_hat / (torch.sqrt(v_hat) + fx["eps"])
            expected = torch.tensor(fx["after"][s][k], dtype=torch.float64)
            assert torch.allclose(p[k], expected, rtol=1e-5, atol=1e-6), (s, k)


# -------------------------------------------------------------------------------------------------
# Fixture 3: one attention call


def attention_fixture():
    C, H, T = 8, 2, 5
    x = normal_f32((T, C)).requires_grad_(True)
    w_attn = normal_f32((C, 3 * C), std=0.3).requires_grad_(True)
    b_attn = normal_f32((3 * C,), std=0.1).requires_grad_(True)
    w_proj = normal_f32((C, C), std=0.3).requires_grad_(True)
    b_proj = normal_f32((C,), std=0.1).requires_grad_(True)
    d_out = normal_f32((T, C))

    out, weights = causal_self_attention(x, w_attn, b_attn, w_proj, b_proj, H, T)
    weights = weights[0]                                                      # one window: [H, T, T]
    row_sums = weights.sum(dim=-1)
    assert torch.allclose(row_sums, torch.ones_like(row_sums), rtol=0, atol=1e-12)
    # Backpropagate the upstream gradient d_out: d(sum(out * d_out)) = d_out.
    out.backward(d_out)

    return {
        "x": to_list(x),
        "c_attn.weight": to_list(w_attn), "c_attn.bias": to_list(b_attn),
        "c_proj.weight": to_list(w_proj), "c_proj.bias": to_list(b_proj),
        "heads": H,
        "weights": [to_list(weights[h]) for h in range(H)],
        "out": to_list(out),
        "d_out": to_list(d_out),
        "d_x": to_list(x.grad),
        "d_c_attn.weight": to_list(w_attn.grad), "d_c_attn.bias": to_list(b_attn.grad),
        "d_c_proj.weight": to_list(w_proj.grad), "d_c_proj.bias": to_list(b_proj.grad),
    }


# -------------------------------------------------------------------------------------------------


def main():
    torch.manual_seed(SEED)
    variants = [
        ("pre", "gelu", True, "learned"),
        ("post", "relu", False, "sinusoidal"),
        ("pre", "relu", False, "sinusoidal"),
        ("post", "gelu", True, "learned"),
    ]
    for norm, activation, tied, positions in variants:
        name = f"model_{norm}_{activation}_{'tied' if tied else 'untied'}_{positions}.json"
        fx = model_fixture(norm, activation, tied, positions)
        size = save_json(name, fx)
        print(f"{name}: loss {fx['loss']!r}, grad_norm {fx['step']['grad_norm']!r}, {size} bytes")

    fx = adamw_fixture()
    check_adamw_by_hand(fx)
    size = save_json("adamw.json", fx)
    clipped = sum(n > fx["clip"] for n in fx["grad_norms"])
    print(f"adamw.json: float32, {clipped}/10 steps clipped, {size} bytes")

    fx = attention_fixture()
    size = save_json("attention_single.json", fx)
    print(f"attention_single.json: {size} bytes")
    print(f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
