# Our exported PEFT adapter in real PEFT: AutoModelForCausalLM.from_pretrained(base folder) in float64 with eager
# attention, PeftModel.from_pretrained(model, adapter folder) (every tensor of the file loaded, as saved), then
# greedy decoding through the KV cache.
# Usage: peft_roundtrip.py DIR   DIR/manifest.json {base, adapter, prompt, steps} -> DIR/peft.json {tokens, logits}
#   logits: the prompt's [T, V], flat.
import json
import os
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_model import from_pretrained, greedy

d = sys.argv[1]
man = json.load(open(f"{d}/manifest.json"))
base = from_pretrained(man["base"])
model = PeftModel.from_pretrained(base, man["adapter"], is_trainable=False).eval()
# PEFT only warns about adapter tensors it did not use or did not find: hold it to every tensor of the file.
saved = load_file(f"{man['adapter']}/adapter_model.safetensors")
loaded = {n.replace(".default.weight", ".weight"): p for n, p in model.named_parameters() if ".lora_" in n}
assert set(saved) == set(loaded), f"adapter tensors {sorted(set(saved) ^ set(loaded))} not loaded one to one"
for n, t in saved.items():
    assert torch.equal(loaded[n], t.to(torch.float64)), n
with torch.no_grad():
    logits = model(input_ids=torch.tensor([man["prompt"]])).logits[0]
json.dump({"tokens": greedy(model, man["prompt"], man["steps"]), "logits": logits.reshape(-1).tolist()}, open(f"{d}/peft.json", "w"))
