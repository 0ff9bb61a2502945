# An independent PyTorch implementation of our two model families (float64), written from the Hugging Face
# modelling code's definitions (LlamaForCausalLM / Qwen2 / GPT2LMHeadModel). Shares nothing with the
# TypeScript engine. Used by peft_check.py and gguf_check.py (exports); the parity tests use real transformers
# (tests/oracle/).
import json, math
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def load_manifest(d):
    """DIR/manifest.json + raw float32 tensors -> (manifest, {name: float64 tensor})."""
    man = json.load(open(f"{d}/manifest.json"))
    P = {}
    for name, info in man["tensors"].items():
        a = np.fromfile(f"{d}/{info['file']}", dtype=np.float32).reshape(info["shape"]).astype(np.float64)
        P[name] = torch.from_numpy(a)
    return man, P


def forward(P, cfg, ids, lora_scale=0.0):
    """Logits [B, T, V] for ids [B, T]; a module with '.lora_A'/'.lora_B' in P gets + s (x A^T) B^T."""
    B, T = ids.shape
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

    def inv_freq():  # transformers' _compute_default / _linear_scaling / _llama3 rope parameters
        inv = 1.0 / (cfg["ropeTheta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        sc = cfg.get("ropeScaling")
        if not sc:
            return inv
        if sc["type"] == "linear":
            return inv / sc["factor"]
        factor, lo, hi, old = sc["factor"], sc["lowFreqFactor"], sc["highFreqFactor"], sc["originalMaxPositions"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / hi) * ~(wavelen > old / lo)
        return torch.where(medium, smoothed, scaled)

    def rope(x):  # x [B, T, h, D], HF rotate_half
        inv = inv_freq()
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
