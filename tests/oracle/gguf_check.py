# Independent check of an exported GGUF LoRA adapter, written from the GGUF spec (ggml/docs/gguf.md) and from
# llama.cpp's loader rules (llama_adapter_lora_init), with numpy + PyTorch only:
#  - parse the container: magic "GGUF", version 3, u64 tensor/KV counts, typed KV pairs, tensor infos (dims
#    fastest-first), padding to general.alignment, every tensor offset a multiple of the alignment, data
#    exactly filling the file;
#  - check the metadata llama.cpp requires (general.type adapter, adapter.type lora, general.architecture,
#    adapter.lora.alpha) and the shape rules it applies against the base tensors;
#  - map llama.cpp tensor names back to Hugging Face modules, undo convert_hf_to_gguf's q/k row permutation
#    (arch llama), compare A and B with the adapter the test hands over (raw float32), merge W += (alpha/r)·B@A
#    by llama.cpp's scale rule; with manifest 'logits': true, run the independent PyTorch model (torch_model.py,
#    imported only then: the container and tensor checks need numpy alone) and write the logits.
# Usage: gguf_check.py DIR FILE.gguf   (DIR/manifest.json: base weights, 'lora.*' tensors, config, ids, arch)
#        -> DIR/gguf.json
import json, os, struct, sys
import numpy as np

d, path = sys.argv[1], sys.argv[2]
man = json.load(open(f"{d}/manifest.json"))
P = {name: np.fromfile(f"{d}/{info['file']}", dtype=np.float32).reshape(info["shape"]).astype(np.float64)
     for name, info in man["tensors"].items()}
cfg = man["config"]
raw = open(path, "rb").read()
pos = 0


def take(fmt):
    global pos
    vals = struct.unpack_from("<" + fmt, raw, pos)
    pos += struct.calcsize("<" + fmt)
    return vals[0] if len(vals) == 1 else vals


def gstring():
    global pos
    n = take("Q")
    s = raw[pos:pos + n].decode("utf-8")
    pos += n
    return s


SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def value(t):
    if t in SCALAR:
        return take(SCALAR[t])
    if t == 8:
        return gstring()
    if t == 9:
        et, n = take("I"), take("Q")
        return [value(et) for _ in range(n)]
    raise ValueError(f"unknown GGUF value type {t}")


assert raw[:4] == b"GGUF", raw[:4]
pos = 4
version = take("I")
assert version == 3, version
n_tensors, n_kv = take("Q"), take("Q")
kv, kv_types = {}, {}
for _ in range(n_kv):
    key = gstring()
    t = take("I")
    assert key not in kv, key
    kv[key], kv_types[key] = value(t), t
infos = []
for _ in range(n_tensors):
    name = gstring()
    n_dims = take("I")
    ne = [take("Q") for _ in range(n_dims)]
    ggml_type, offset = take("I"), take("Q")
    infos.append((name, ne, ggml_type, offset))
align = kv.get("general.alignment", 32)
data_start = (pos + align - 1) // align * align
assert all(b == 0 for b in raw[pos:data_start]), "padding before the data is not zero"

ELEM = {0: 4, 1: 2, 30: 2}
tensors = {}
end = data_start
for name, ne, gt, offset in infos:
    assert offset % align == 0, (name, offset)
    n = int(np.prod(ne))
    start = data_start + offset
    buf = raw[start:start + n * ELEM[gt]]
    assert len(buf) == n * ELEM[gt], f"{name}: data runs past the end of the file"
    if gt == 0:
        a = np.frombuffer(buf, dtype="<f4")
    elif gt == 1:
        a = np.frombuffer(buf, dtype="<f2").astype(np.float32)
    else:
        a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    tensors[name] = a.reshape(list(reversed(ne))).astype(np.float64)  # numpy shape = dims reversed
    end = max(end, start + n * ELEM[gt])
assert len(raw) - end < align, f"{len(raw) - end} bytes after the last tensor"

# metadata llama.cpp checks
assert kv["general.type"] == "adapter", kv.get("general.type")
assert kv["adapter.type"] == "lora", kv.get("adapter.type")
assert kv["general.architecture"] == man["arch"], (kv["general.architecture"], man["arch"])
assert kv_types["adapter.lora.alpha"] == 6, "adapter.lora.alpha must be a float32"
alpha = kv["adapter.lora.alpha"]

# llama.cpp tensor names -> Hugging Face modules (gguf-py tensor_mapping)
gpt2 = cfg["architecture"] == "gpt2"
if gpt2:
    names = {"attn_qkv": "attn.c_attn", "attn_output": "attn.c_proj", "ffn_up": "mlp.c_fc", "ffn_down": "mlp.c_proj"}
    prefix = "transformer.h"
else:
    names = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    prefix = "model.layers"


def unpermute(w, n_head):  # inverse of convert_hf_to_gguf's LlamaModel.permute on rows
    out = w.shape[0]
    return w.reshape(n_head, out // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


pairs = sorted({n.rsplit(".lora_", 1)[0] for n in tensors})
assert len(pairs) * 2 == len(tensors), "every tensor must be .lora_a or .lora_b, in pairs"
modules, max_diff = [], 0.0
for base in pairs:
    A, B = tensors[base + ".lora_a"], tensors[base + ".lora_b"]
    blk, bid, short, w = base.split(".")
    assert blk == "blk" and w == "weight", base
    m = f"{prefix}.{bid}.{names[short]}"
    W = P[m + ".weight"]
    out_f, in_f = (W.shape[1], W.shape[0]) if gpt2 else W.shape
    # llama.cpp: a.ne[0] == base.ne[0] (in), b.ne[1] == base.ne[1] (out), a.ne[1] == b.ne[0] (rank)
    assert A.shape[1] == in_f and B.shape[0] == out_f and A.shape[0] == B.shape[1], (base, A.shape, B.shape, W.shape)
    if man["arch"] == "llama" and short in ("attn_q", "attn_k"):
        B = unpermute(B, cfg["numHeads"] if short == "attn_q" else cfg["numKvHeads"])
    ours_A, ours_B = P.pop(f"lora.{m}.lora_A"), P.pop(f"lora.{m}.lora_B")
    max_diff = max(max_diff, float(np.abs(A - ours_A).max()), float(np.abs(B - ours_B).max()))
    scale = alpha / A.shape[0]  # llama.cpp: alpha / rank, rank = b.ne[0]
    delta = scale * (B @ A)  # [out, in]
    P[m + ".weight"] = W + (delta.T if gpt2 else delta)
    modules.append(m)
left = [k for k in P if k.startswith("lora.")]
assert not left, f"adapter modules missing from the GGUF file: {left[:3]}"

logits = None
if man.get("logits"):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_model import forward
    ids = torch.tensor(man["ids"], dtype=torch.long).view(1, -1)
    logits = forward({k: torch.from_numpy(v) for k, v in P.items()}, cfg, ids).reshape(-1).tolist()
json.dump({"logits": logits, "modules": modules, "max_diff": max_diff,
           "kv": {k: v for k, v in kv.items() if not isinstance(v, list)}, "alignment": align, "version": version},
          open(f"{d}/gguf.json", "w"))
