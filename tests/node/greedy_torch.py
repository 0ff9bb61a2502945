# Greedy decoding with the independent PyTorch model (torch_model.py) for tests/node/hf-parity.test.ts.
# Usage: greedy_torch.py DIR   DIR/manifest.json: config, weights, "ids" (prompt), "steps" -> DIR/greedy.json
#   { logits: prompt logits (flat), tokens: `steps` greedy tokens (no KV cache: full forward each step) }
import json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_model import forward, load_manifest

d = sys.argv[1]
man, P = load_manifest(d)
ids = list(man["ids"])
logits = forward(P, man["config"], torch.tensor([ids]))
out = {"logits": logits.reshape(-1).tolist(), "tokens": []}
for _ in range(man["steps"]):
    nxt = int(forward(P, man["config"], torch.tensor([ids]))[0, -1].argmax())
    out["tokens"].append(nxt)
    ids.append(nxt)
json.dump(out, open(f"{d}/greedy.json", "w"))
