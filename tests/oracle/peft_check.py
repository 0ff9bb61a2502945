# Independent check of an exported PEFT adapter, by the PEFT conventions, with numpy + PyTorch only:
# parse adapter_model.safetensors by the spec (8-byte little-endian header length, JSON header, raw data),
# read adapter_config.json, merge every 'base_model.model.<module>.lora_A/.lora_B.weight' pair into the base
# weight as PEFT's merge does (W += scale · B @ A, transposed for fan_in_fan_out), run the independent model
# (torch_model.py) and write the logits.
# Usage: peft_check.py DIR ADAPTER_DIR   (DIR/manifest.json holds the base weights and ids) -> DIR/peft.json
import json, math, os, struct, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_model import forward, load_manifest

d, adapter = sys.argv[1], sys.argv[2]
man, P = load_manifest(d)
cfg = json.load(open(f"{adapter}/adapter_config.json"))
assert cfg["peft_type"] == "LORA" and cfg["task_type"] == "CAUSAL_LM", cfg
raw = open(f"{adapter}/adapter_model.safetensors", "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
tensors = {}
for key, info in header.items():
    if key == "__metadata__":
        continue
    assert info["dtype"] == "F32", info
    start, end = info["data_offsets"]
    tensors[key] = torch.from_numpy(np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"]).astype(np.float64))

r, alpha = cfg["r"], cfg["lora_alpha"]
scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
modules = sorted({k[len("base_model.model."):].rsplit(".lora_", 1)[0] for k in tensors})
for m in modules:
    A = tensors[f"base_model.model.{m}.lora_A.weight"]   # [r, in]
    B = tensors[f"base_model.model.{m}.lora_B.weight"]   # [out, r]
    assert A.shape[0] == r and B.shape[1] == r, (m, A.shape, B.shape)
    assert any(m == t or m.endswith("." + t) for t in cfg["target_modules"]), (m, cfg["target_modules"])
    delta = scale * (B @ A)                              # [out, in]
    W = P[m + ".weight"]
    P[m + ".weight"] = W + (delta.T if cfg["fan_in_fan_out"] else delta)

ids = torch.tensor(man["ids"], dtype=torch.long).view(1, -1)
json.dump({"logits": forward(P, man["config"], ids).reshape(-1).tolist(), "modules": modules}, open(f"{d}/peft.json", "w"))
