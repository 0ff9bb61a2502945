# Held-out exact match of PEFT adapters in real transformers + PEFT: for each adapter folder, the base model with
# PeftModel.from_pretrained, greedy answers to each conversation's last user turn (the chat template with the
# generation prompt, stopping at the tokenizer's EOS, at most the reference's length + 2 tokens), compared with
# the reference answer after trimming, as `studio eval` scores exact match; and the mean loss (nats per token) of
# the reference answers, their content and end-of-turn token as the studio's mask counts them. "base" (no
# adapter) is scored too.
# Usage: kit_eval.py MODEL_DIR EVAL_JSONL NAME=ADAPTER_DIR... -> JSON on stdout:
#   {NAME: {"exactMatch": 0..1, "hits": n, "total": n, "loss": nats, "answers": [{"want", "got"}]}, ...}
import json, sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

model_dir, eval_file = sys.argv[1], sys.argv[2]
adapters = [("base", None)] + [tuple(a.split("=", 1)) for a in sys.argv[3:]]
tok = AutoTokenizer.from_pretrained(model_dir)
rows = [json.loads(line)["messages"] for line in open(eval_file, encoding="utf-8") if line.strip()]
torch.manual_seed(0)

out = {}
for name, path in adapters:
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if path is not None:
        model = PeftModel.from_pretrained(model, path)
    model.eval()
    answers, hits, nll, counted = [], 0, 0.0, 0
    for messages in rows:
        want = messages[-1]["content"].strip()
        ids = tok.apply_chat_template(messages[:-1], add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
        full = tok.apply_chat_template(messages, return_tensors="pt", return_dict=True)["input_ids"]
        end = (full[0] == tok.eos_token_id).nonzero()[-1].item() + 1  # through the answer's end-of-turn token
        assert torch.equal(full[0, :ids.shape[1]], ids[0]), "the prompt is not a prefix of the conversation"
        with torch.no_grad():
            logp = torch.log_softmax(model(full[:, :end]).logits[0].float(), -1)
        targets = full[0, ids.shape[1]:end]
        nll -= logp[ids.shape[1] - 1:end - 1].gather(1, targets[:, None]).sum().item()
        counted += len(targets)
        budget = len(tok(want, add_special_tokens=False)["input_ids"]) + 2
        with torch.no_grad():
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=budget, do_sample=False,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        got = tok.decode(gen[0, ids.shape[1]:], skip_special_tokens=True).strip()
        hits += got == want
        answers.append({"want": want, "got": got})
    out[name] = {"exactMatch": hits / len(rows), "hits": hits, "total": len(rows), "loss": nll / counted, "answers": answers}
print(json.dumps(out))
