# Greedy decoding in real transformers on the CPU, the decode benchmark's PyTorch peer (scripts/bench-run.mjs
# torchDecode; bench/decode.ts has the method): B = each batch size, the same prompt, new tokens with stops off, its
# own warm-up, then rounds timed; tokens/s = B x new tokens / wall time (median and best round, as the other cases).
# Usage: python bench_decode_torch.py MODEL_DIR PROMPT_IDS_JSON NEW_TOKENS BATCHES_JSON ROUNDS  → one JSON line
import json, os, sys, time

import torch
import transformers
from transformers import AutoModelForCausalLM

torch.set_num_threads(os.cpu_count())
path, ids, new, batches, rounds = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32).eval()
model.generation_config.eos_token_id = None   # stops off, as in the other cases
out = {"torch": torch.__version__, "transformers": transformers.__version__, "threads": torch.get_num_threads()}
for B in batches:
    x = torch.tensor([ids] * B)
    gen = lambda: model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=new, do_sample=False, pad_token_id=0)
    with torch.no_grad():
        first = gen()
        ms = []
        for _ in range(rounds):
            t0 = time.perf_counter(); gen(); ms.append((time.perf_counter() - t0) * 1e3)
    s = sorted(ms)
    out[f"batch{B}"] = {
        "sequences": B, "tokensPerSecond": round(B * new / (s[len(s) // 2] / 1000), 1), "bestTokensPerSecond": round(B * new / (s[0] / 1000), 1),
        "ms": [round(t, 1) for t in ms], "tokens": first[0, len(ids):].tolist(),
    }
print(json.dumps(out))
