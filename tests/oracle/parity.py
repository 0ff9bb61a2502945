# The transformers reference run of tests/node/parity.test.ts (see hf_model.py for the model and the names).
# Usage: parity.py DIR...   (one Python start for every case) each DIR/manifest.json:
#   config      the HF config.json dict          tensors   base weights (HF names) and, with LoRA, our lora_A/lora_B
#   lora        null (full fine-tuning: every parameter trains) or {targets, r, alpha, rslora}
#   trainable   our names of the trainable tensors (PEFT's own choice must be exactly these)
#   decay       the trainable names with weight decay
#   batch       {B, T, ids, targets, lossMask}    (targets[b, t] is the token after ids[b, t])
#   greedy      {prompt, steps}                  train  {steps, warmupSteps, lr, beta1, beta2, eps, weightDecay, maxGradNorm}
# -> DIR/reference.json: logits (flat [B, T, V]), loss (masked mean cross-entropy), grads {our name: flat} after
#    one backward, tokens (greedy through the KV cache), tokensNoCache (greedy recomputing the whole sequence),
#    curve (loss of each of `train.steps` AdamW steps: clip_grad_norm_, linear schedule with warm-up).
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_model import build_model, greedy, load_manifest, masked_loss, with_lora


def run(d):
    man, tensors = load_manifest(d)
    trainable_names = man["trainable"]
    lora = man["lora"]
    base = {n: t for n, t in tensors.items() if not (lora and n in trainable_names)}
    model = build_model(man["config"], base)
    if lora:
        model, params = with_lora(model, lora, {n: tensors[n] for n in trainable_names})
    else:
        params = dict(model.named_parameters())
        assert set(params) == set(trainable_names), f"full fine-tuning trains {sorted(set(params) ^ set(trainable_names))} differently"
        for p in params.values():
            p.requires_grad_(True)

    b = man["batch"]
    B, T = b["B"], b["T"]
    ids = torch.tensor(b["ids"], dtype=torch.long).view(B, T)
    targets = torch.tensor(b["targets"], dtype=torch.long).view(B, T)
    mask = torch.tensor(b["lossMask"], dtype=torch.float64).view(B, T)


    def loss_of_step():
        logits = model(input_ids=ids, use_cache=False).logits
        return logits, masked_loss(logits, targets, mask)


    out = {}
    logits, loss = loss_of_step()
    loss.backward()
    out["logits"] = logits.detach().reshape(-1).tolist()
    out["loss"] = loss.item()
    out["grads"] = {n: params[n].grad.reshape(-1).tolist() for n in trainable_names}

    g = man["greedy"]
    out["tokens"] = greedy(model, g["prompt"], g["steps"])
    out["tokensNoCache"] = greedy(model, g["prompt"], g["steps"], use_cache=False)

    tc = man["train"]
    for p in params.values():
        p.grad = None
    decay = [params[n] for n in trainable_names if n in man["decay"]]
    no_decay = [params[n] for n in trainable_names if n not in man["decay"]]
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
        _, l = loss_of_step()
        l.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), tc["maxGradNorm"])
        opt.step()
        sched.step()
        curve.append(l.item())
    out["curve"] = curve
    json.dump(out, open(f"{d}/reference.json", "w"))


for d in sys.argv[1:]:
    run(d)
