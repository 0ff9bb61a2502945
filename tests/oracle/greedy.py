# A Hugging Face model folder in transformers itself: AutoModelForCausalLM.from_pretrained(folder) in float64 with
# eager attention, the prompt's logits and greedy tokens through its KV cache (tests/node/hf-parity.test.ts).
# Usage: greedy.py DIR   DIR/manifest.json {model: folder, prompt, steps} -> DIR/greedy.json {logits: [T, V] flat, tokens}
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_model import from_pretrained, greedy

d = sys.argv[1]
man = json.load(open(f"{d}/manifest.json"))
model = from_pretrained(man["model"])
with torch.no_grad():
    logits = model(input_ids=torch.tensor([man["prompt"]])).logits[0]
json.dump({"logits": logits.reshape(-1).tolist(), "tokens": greedy(model, man["prompt"], man["steps"])}, open(f"{d}/greedy.json", "w"))
