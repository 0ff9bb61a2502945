"""PyTorch oracle for tests/node/adamw-torch.test.ts: torch.optim.AdamW + clip_grad_norm_ on given numbers.

stdin (JSON): a list of cases, each {p0: [n], grads: [[n] per step], lrs: [per step], decayMask: [n] (1 = decay),
              beta1, beta2, eps, weightDecay, maxGradNorm (0 = no clipping)}
stdout (JSON): the list of results, each {params: [n], m: [n], v: [n], norms: [per step]}: float32 values in
               the flat order of p0 (norms only when clipping).
The flat buffer is split into a decay group and a no-decay group by decayMask (how a PyTorch user would express
it); clipping sees both groups, as it sees the whole flat buffer on the GPU.
"""
import json
import sys

import torch


def run(cfg):
    p0 = torch.tensor(cfg["p0"], dtype=torch.float32)
    mask = torch.tensor(cfg["decayMask"], dtype=torch.float32) != 0
    idx = {"decay": mask.nonzero().flatten(), "none": (~mask).nonzero().flatten()}
    idx = {k: i for k, i in idx.items() if i.numel() > 0}
    params = {k: torch.nn.Parameter(p0[i].clone()) for k, i in idx.items()}
    groups = [{"params": [p], "weight_decay": cfg["weightDecay"] if k == "decay" else 0.0} for k, p in params.items()]
    opt = torch.optim.AdamW(groups, lr=cfg["lrs"][0], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"])

    norms = []
    for grads, lr in zip(cfg["grads"], cfg["lrs"]):
        g = torch.tensor(grads, dtype=torch.float32)
        for k, p in params.items():
            p.grad = g[idx[k]].clone()
        if cfg["maxGradNorm"] > 0:
            norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), cfg["maxGradNorm"])))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()

    def flat(get):
        out = torch.zeros_like(p0)
        for k, p in params.items():
            out[idx[k]] = get(p).detach()
        return out.tolist()

    return {
        "params": flat(lambda p: p),
        "m": flat(lambda p: opt.state[p]["exp_avg"]),
        "v": flat(lambda p: opt.state[p]["exp_avg_sq"]),
        "norms": norms,
    }


print(json.dumps([run(cfg) for cfg in json.load(sys.stdin)]))
