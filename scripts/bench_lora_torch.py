# PyTorch CPU peer for the LoRA-step benchmark (bench/lora_step.ts): the same Llama-shaped model and batch,
# float32, LoRA on the same modules, one optimizer step = forward + backward + AdamW, timed after warm-up.
# Prints one JSON object: { tokensPerSecond, stepMs, threads }.
import json, math, sys, time
import torch
import torch.nn.functional as F

cfg = json.loads(sys.argv[1])
torch.manual_seed(0)
C, L, H, Hkv, D, Fd, V = cfg["hiddenSize"], cfg["numLayers"], cfg["numHeads"], cfg["numKvHeads"], cfg["headDim"], cfg["intermediateSize"], cfg["vocabSize"]
B, T, r, s = cfg["batch"], cfg["seqLen"], cfg["rank"], cfg["alpha"] / cfg["rank"]
w = lambda *shape: torch.randn(*shape) * 0.02
P = {"embed": w(V, C), "head": w(V, C), "norm": torch.ones(C)}
lora = []
for l in range(L):
    for n, (o, i) in {"q": (H * D, C), "k": (Hkv * D, C), "v": (Hkv * D, C), "o": (C, H * D), "gate": (Fd, C), "up": (Fd, C), "down": (C, Fd)}.items():
        P[f"{l}.{n}"] = w(o, i)
        if n + "_proj" in cfg["targets"]:
            A = (torch.rand(r, i) * 2 - 1) / math.sqrt(i)
            A.requires_grad_(True)
            Bm = torch.zeros(o, r, requires_grad=True)
            P[f"{l}.{n}.A"], P[f"{l}.{n}.B"] = A, Bm
            lora += [A, Bm]
    P[f"{l}.n1"], P[f"{l}.n2"] = torch.ones(C), torch.ones(C)
inv = 1.0 / (10000 ** (torch.arange(0, D, 2).float() / D))
emb = torch.cat([torch.outer(torch.arange(T).float(), inv)] * 2, -1)
cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)


def lin(key, x):
    y = x @ P[key].T
    if key + ".A" in P:
        y = y + s * (x @ P[key + ".A"].T) @ P[key + ".B"].T
    return y


def rms(x, wt):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * wt


def rope(x):
    return x * cos + torch.cat([-x[..., D // 2:], x[..., : D // 2]], -1) * sin


def forward(ids):
    x = P["embed"][ids]
    for l in range(L):
        h = rms(x, P[f"{l}.n1"])
        q = rope(lin(f"{l}.q", h).view(B, T, H, D))
        k = rope(lin(f"{l}.k", h).view(B, T, Hkv, D)).repeat_interleave(H // Hkv, 2)
        v = lin(f"{l}.v", h).view(B, T, Hkv, D).repeat_interleave(H // Hkv, 2)
        a = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(D)
        a = torch.softmax(a.masked_fill(mask, float("-inf")), -1)
        x = x + lin(f"{l}.o", torch.einsum("bhts,bshd->bthd", a, v).reshape(B, T, H * D))
        h = rms(x, P[f"{l}.n2"])
        x = x + lin(f"{l}.down", F.silu(lin(f"{l}.gate", h)) * lin(f"{l}.up", h))
    return rms(x, P["norm"]) @ P["head"].T


ids = torch.randint(0, V, (B, T + 1))
opt = torch.optim.AdamW(lora, lr=2e-4)
times = []
for i in range(cfg["warmup"] + cfg["timed"]):
    t0 = time.perf_counter()
    opt.zero_grad()
    loss = F.cross_entropy(forward(ids[:, :-1]).reshape(B * T, V), ids[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(lora, 1.0)
    opt.step()
    if i >= cfg["warmup"]:
        times.append((time.perf_counter() - t0) * 1000)
med = sorted(times)[len(times) // 2]
print(json.dumps({"tokensPerSecond": B * T / (med / 1000), "stepMs": times, "threads": torch.get_num_threads()}))
