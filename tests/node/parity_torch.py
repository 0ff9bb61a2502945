# Training parity oracle for tests/node/parity.test.ts: the independent PyTorch model (torch_model.py),
# float64, on the same weights and batch.
# Usage: parity_torch.py DIR   reads DIR/manifest.json + raw float32 tensors, writes DIR/torch.json:
#   logits (first forward), loss, grads of every trainable tensor after one backward, and the loss curve
#   of `steps` AdamW steps (clip_grad_norm_, linear schedule with warm-up, decoupled weight decay).
import json, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_model import forward as model_forward, load_manifest

d = sys.argv[1]
man, P = load_manifest(d)
cfg = man["config"]
trainable = man["trainable"]
for n in trainable:
    P[n].requires_grad_(True)
batch = man["batch"]
B, T = batch["B"], batch["T"]
ids = torch.tensor(batch["ids"], dtype=torch.long).view(B, T)
targets = torch.tensor(batch["targets"], dtype=torch.long).view(B, T)
mask = torch.tensor(batch["lossMask"], dtype=torch.float64).view(B, T)
lora_scale = man.get("loraScale", 0.0)


def forward():
    return model_forward(P, cfg, ids, lora_scale)


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
