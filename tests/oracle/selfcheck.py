# The oracle checked on its own, without the engine: on a random model of config.json (transformers' init,
# norms and biases jittered so none is trivially 1 or 0) it runs every path parity.py and peft_roundtrip.py
# rely on and compares the ways transformers/PEFT offer to compute the same thing:
#   loss      masked_loss on the logits  vs  the model's own loss (labels, -100 where the mask is 0)
#   lora      PEFT with B = 0 vs the base model; PEFT with random B vs the same adapter merged (merge_and_unload)
#   greedy    through the KV cache vs recomputing the whole sequence (model.generate's own answer too)
#   weights   build_model reloads the model's own state_dict strictly
# Usage: selfcheck.py DIR...   each DIR/manifest.json {config, lora: {targets, r, alpha, rslora}, ids, steps}
# -> DIR/selfcheck.json {errors: {name: max abs diff}, tokens, tokensNoCache, tokensGenerate, weights: {name: shape},
#    loraModules: [module paths PEFT wrapped], config: what transformers made of config.json}
import copy
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_model import build_model, greedy, hf_config, masked_loss, with_lora, our_name
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM


def run(d):
    man = json.load(open(f"{d}/manifest.json"))
    torch.manual_seed(0)
    seed_model = AutoModelForCausalLM.from_config(hf_config(man["config"]), attn_implementation="eager").to(torch.float64)
    weights = {}
    with torch.no_grad():
        for n, p in seed_model.named_parameters():
            w = p.detach().clone()
            if n.endswith("bias") or "norm" in n or "ln_" in n:
                w = w + 0.1 * torch.randn_like(w)
            else:
                w = torch.randn_like(w) * 0.2
            weights[n] = w
    model = build_model(man["config"], weights)
    errors = {}
    ids = torch.tensor([man["ids"]], dtype=torch.long)
    T = ids.shape[1]
    targets = torch.cat([ids[:, 1:], torch.zeros(1, 1, dtype=torch.long)], dim=1)
    mask = torch.tensor([[1.0 if 3 <= t < T - 1 else 0.0 for t in range(T)]], dtype=torch.float64)
    labels = torch.full_like(ids, -100)
    labels[:, 1:] = torch.where(mask[:, :-1] > 0, ids[:, 1:], torch.tensor(-100))
    with torch.no_grad():
        out = model(input_ids=ids, labels=labels, use_cache=False)
        base_logits = out.logits
        errors["loss"] = abs(masked_loss(base_logits, targets, mask).item() - out.loss.item())

    lora = man["lora"]
    # PEFT names its tensors itself: ask it which, then give B = 0 (its default) and compare with the base model.

    probe = get_peft_model(copy.deepcopy(model), LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], use_rslora=lora["rslora"],
        target_modules=lora["targets"], lora_dropout=0.0, task_type="CAUSAL_LM", fan_in_fan_out=model.config.model_type == "gpt2"))
    names = {our_name(n): p.detach().clone() for n, p in probe.named_parameters() if p.requires_grad}
    zero_b = {n: (t if n.endswith("lora_A") else torch.zeros_like(t)) for n, t in names.items()}
    pm, _ = with_lora(copy.deepcopy(model), lora, zero_b)
    with torch.no_grad():
        errors["loraZeroB"] = (pm(input_ids=ids).logits - base_logits).abs().max().item()
    random_b = {n: (t if n.endswith("lora_A") else 0.3 * torch.randn_like(t)) for n, t in names.items()}
    pm, _ = with_lora(copy.deepcopy(model), lora, random_b)
    with torch.no_grad():
        lora_logits = pm(input_ids=ids).logits
        merged = pm.merge_and_unload()
        errors["loraMerged"] = (merged(input_ids=ids).logits - lora_logits).abs().max().item()
    lora_effect = (lora_logits - base_logits).abs().max().item()

    tokens = greedy(model, man["ids"], man["steps"])
    no_cache = greedy(model, man["ids"], man["steps"], use_cache=False)
    with torch.no_grad():
        # no stop token (eos_token_id=[]: None would fall back to the config's): a random model may emit EOS
        gen = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=man["steps"],
                             pad_token_id=0, eos_token_id=[])
    tokens_generate = gen[0, T:].tolist()

    reloaded = build_model(man["config"], dict(model.named_parameters()))
    with torch.no_grad():
        errors["reload"] = (reloaded(input_ids=ids).logits - base_logits).abs().max().item()

    cfg = model.config
    interpreted = {k: getattr(cfg, k, None) for k in [
        "model_type", "head_dim", "num_attention_heads", "num_key_value_heads", "tie_word_embeddings", "layer_types",
        "sliding_window", "query_pre_attn_scalar", "rope_parameters", "final_logit_softcapping", "attn_logit_softcapping",
        "hidden_act", "hidden_activation"]}
    json.dump({
        "errors": errors, "loraEffect": lora_effect, "tokens": tokens, "tokensNoCache": no_cache, "tokensGenerate": tokens_generate,
        "weights": {n: list(p.shape) for n, p in model.named_parameters()},
        "loraModules": sorted({n.rsplit(".lora_", 1)[0] for n in names}),
        "config": json.loads(json.dumps(interpreted, default=str)),
    }, open(f"{d}/selfcheck.json", "w"))


for d in sys.argv[1:]:
    run(d)
