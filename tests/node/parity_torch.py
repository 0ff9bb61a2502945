# Independent PyTorch implementation of our two model families, the oracle for tests/node/parity.test.ts.
# Written from the Hugging Face modelling code's definitions (LlamaForCausalLM / Qwen2 / GPT2LMHeadModel),
# in float64, sharing nothing with the TypeScript engine but the weights and the batch.
#
# Usage: parity_torch.py DIR   reads DIR/manifest.json + raw float32 tensors, writes DIR/torch.json:
#   logits (first forward), loss, grads of every trainable tensor after one backward, and the loss curve
#   of `steps` AdamW steps (clip_grad_norm_, linear schedule with warm-up, decoupled weight decay).
import json, math, sys
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
d = sys.argv[1]
man = json.load(open(f"{d}/manifest.json"))
cfg = man["config"]
P = {}
for name, info in man["tensors"].items():
    a = np.fromfile(f"{d}/{info['file']}", dtype=np.float32).reshape(info["shape"]).astype(np.float64)
    P[name] = torch.from_numpy(a)
trainable = man["trainable"]
for n in trainable:
    P[n].requires_grad_(True)
batch = man["batch"]
B, T = batch["B"], batch["T"]
ids = torch.tensor(batch["ids"], dtype=torch.long).view(B, T)
targets = torch.tensor(batch["targets"], dtype=torch.long).view(B, T)
mask = torch.tensor(batch["lossMask"], dtype=torch.float64).view(B, T)
lora_scale = man.get("loraScale", 0.0)
gpt2 = cfg["architecture"] == "gpt2"
C, H, Hkv, D = cfg["hiddenSize"], cfg["numHeads"], cfg["numKvHeads"], cfg["headDim"]
eps = cfg["normEps"]


def linear(name, x):
    W = P[name + ".weight"]
    y = x @ W if gpt2 else x @ W.T          # Conv1D stores [in, out]; nn.Linear [out, in]
    if name + ".bias" in P:
        y = y + P[name + ".bias"]
    if name + ".lora_A" in P:
        y = y + lora_scale * (x @ P[name + ".lora_A"].T) @ P[name + ".lora_B"].T
    return y


def rmsnorm(x, name):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * P[name + ".weight"]


def layernorm(x, name):
    return F.layer_norm(x, (C,), P[name + ".weight"], P[name + ".bias"], eps)


def rope(x):  # x [B, T, h, D], HF rotate_half
    inv = 1.0 / (cfg["ropeTheta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def attention(q, k, v):  # [B, T, h, D]
    rep = H // Hkv
    k = k.repeat_interleave(rep, dim=2)
    v = v.repeat_interleave(rep, dim=2)
    s = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(D)
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    s = s.masked_fill(causal, float("-inf"))
    return torch.einsum("bhts,bshd->bthd", torch.softmax(s, -1), v).reshape(B, T, H * D)


def forward():
    if gpt2:
        x = P["transformer.wte.weight"][ids] + P["transformer.wpe.weight"][torch.arange(T)][None]
        for l in range(cfg["numLayers"]):
            p = f"transformer.h.{l}"
            qkv = linear(f"{p}.attn.c_attn", layernorm(x, f"{p}.ln_1"))
            q, k, v = qkv.split(C, dim=-1)
            a = attention(q.reshape(B, T, H, D), k.reshape(B, T, H, D), v.reshape(B, T, H, D))
            x = x + linear(f"{p}.attn.c_proj", a)
            h = F.gelu(linear(f"{p}.mlp.c_fc", layernorm(x, f"{p}.ln_2")), approximate="tanh")
            x = x + linear(f"{p}.mlp.c_proj", h)
        return layernorm(x, "transformer.ln_f") @ P["transformer.wte.weight"].T
    x = P["model.embed_tokens.weight"][ids]
    for l in range(cfg["numLayers"]):
        p = f"model.layers.{l}"
        h = rmsnorm(x, f"{p}.input_layernorm")
        q = rope(linear(f"{p}.self_attn.q_proj", h).view(B, T, H, D))
        k = rope(linear(f"{p}.self_attn.k_proj", h).view(B, T, Hkv, D))
        v = linear(f"{p}.self_attn.v_proj", h).view(B, T, Hkv, D)
        x = x + linear(f"{p}.self_attn.o_proj", attention(q, k, v))
        h = rmsnorm(x, f"{p}.post_attention_layernorm")
        x = x + linear(f"{p}.mlp.down_proj", F.silu(linear(f"{p}.mlp.gate_proj", h)) * linear(f"{p}.mlp.up_proj", h))
    head = P["model.embed_tokens.weight"] if cfg["tieWordEmbeddings"] else P["lm_head.weight"]
    return rmsnorm(x, "model.norm") @ head.T


def loss_fn(logits):
    per_token = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), reduction="none")
    return (per_token * mask.reshape(-1)).sum() / mask.sum()


out = {}
logits = forward()
loss = loss_fn(logits)
loss.backward()
out["logits"] = logits.detach().reshape(-1).tolist()
out["loss"] = loss.item()
out["grads"] = {n: P[n].grad.reshape(-1).tolist() for n in trainable}

tc = man["train"]
params = [P[n] for n in trainable]
for p_ in params:
    p_.grad = None
decay = [P[n] for n in trainable if n in man["decay"]]
no_decay = [P[n] for n in trainable if n not in man["decay"]]
opt = torch.optim.AdamW(
    [{"params": decay, "weight_decay": tc["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
    lr=tc["lr"], betas=(tc["beta1"], tc["beta2"]), eps=tc["eps"],
)
total, warm = tc["steps"], tc["warmupSteps"]
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm)))
curve = []
for _ in range(total):
    opt.zero_grad()
    l = loss_fn(forward())
    l.backward()
    torch.nn.utils.clip_grad_norm_(params, tc["maxGradNorm"])
    opt.step()
    sched.step()
    curve.append(l.item())
out["curve"] = curve
json.dump(out, open(f"{d}/torch.json", "w"))
