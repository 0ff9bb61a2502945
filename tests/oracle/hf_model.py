# transformers' own modeling code as the oracle of the parity and export tests: nothing here computes a layer.
# Builds AutoModelForCausalLM.from_config(config.json, eager attention) in float64, loads the given weights
# (every parameter, strictly), wraps it in real PEFT LoRA when asked and names its trainable tensors as the
# TypeScript engine does (src/model/linear.ts loraNames):
#   ours 'model.layers.0.self_attn.q_proj.lora_A'  <->  PEFT 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight'
#   ours 'model.norm.weight' (full fine-tuning)    <->  transformers 'model.norm.weight'
# Exchange format (tests/helpers/transformers.ts writes it): DIR/manifest.json with the HF config dict and
# 'tensors': {name: {file, shape}} of raw little-endian float32 files beside it.
import json

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModelForCausalLM

PEFT_PREFIX = "base_model.model."


def load_manifest(d):
    """DIR/manifest.json + raw float32 tensors -> (manifest, {name: float64 tensor})."""
    man = json.load(open(f"{d}/manifest.json"))
    tensors = {}
    for name, info in man["tensors"].items():
        a = np.fromfile(f"{d}/{info['file']}", dtype="<f4").reshape(info["shape"]).astype(np.float64)
        tensors[name] = torch.from_numpy(a)
    return man, tensors


def hf_config(config_json):
    c = dict(config_json)
    return AutoConfig.for_model(c.pop("model_type"), **c)


def build_model(config_json, weights):
    """The transformers model of config.json in float64 with exactly `weights` (HF names) loaded."""
    model = AutoModelForCausalLM.from_config(hf_config(config_json), attn_implementation="eager")
    model.to(torch.float64).eval()  # eval: GPT-2's resid/attn/embd dropout off (ours has none)
    params = dict(model.named_parameters())  # tied weights appear once, under the input embedding's name
    missing = sorted(set(params) - set(weights))
    unexpected = sorted(set(weights) - set(params))
    assert not missing and not unexpected, f"weights do not fit {type(model).__name__}: missing {missing}, unexpected {unexpected}"
    with torch.no_grad():
        for name, p in params.items():
            assert tuple(p.shape) == tuple(weights[name].shape), (name, tuple(p.shape), tuple(weights[name].shape))
            p.copy_(weights[name])
    if model.config.tie_word_embeddings:
        assert model.get_output_embeddings().weight is model.get_input_embeddings().weight, "tie_word_embeddings but lm_head is not tied"
    return model


def from_pretrained(folder):
    """AutoModelForCausalLM.from_pretrained(folder) in float64, eager attention; every weight present, none left over."""
    model, info = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager", output_loading_info=True)
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    assert not bad, f"{folder}: {bad}"
    return model.eval()


def our_name(peft):
    assert peft.startswith(PEFT_PREFIX) and peft.endswith(".default.weight"), peft
    return peft[len(PEFT_PREFIX):-len(".default.weight")]


def with_lora(model, lora, values):
    """Real PEFT LoRA on `model` with A/B set to `values` (our names); returns (peft model, {our name: param})."""
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(
        r=lora["r"], lora_alpha=lora["alpha"], use_rslora=lora["rslora"], target_modules=lora["targets"],
        lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
        fan_in_fan_out=model.config.model_type == "gpt2",  # GPT-2's Conv1D stores [in, out]
    )
    pm = get_peft_model(model, cfg)
    pm.eval()
    trainable = {our_name(n): p for n, p in pm.named_parameters() if p.requires_grad}
    assert set(trainable) == set(values), f"PEFT trains {sorted(set(trainable) ^ set(values))} differently from ours"
    with torch.no_grad():
        for name, p in trainable.items():
            assert tuple(p.shape) == tuple(values[name].shape), (name, tuple(p.shape), tuple(values[name].shape))
            p.copy_(values[name])
    return pm, trainable


def masked_loss(logits, targets, mask):
    """Mean cross-entropy over the positions where mask is 1 (the engine's loss)."""
    V = logits.shape[-1]
    per_token = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="none")
    return (per_token * mask.reshape(-1)).sum() / mask.sum()


@torch.no_grad()
def greedy(model, prompt, steps, use_cache=True):
    """`steps` argmax tokens after `prompt`: one prompt forward, then one token at a time through the KV cache
    (use_cache False: the whole sequence again each step)."""
    ids = torch.tensor([prompt], dtype=torch.long)
    out = model(input_ids=ids, use_cache=use_cache)
    tokens = []
    for _ in range(steps):
        nxt = int(out.logits[0, -1].argmax())
        tokens.append(nxt)
        if use_cache:
            out = model(input_ids=torch.tensor([[nxt]]), past_key_values=out.past_key_values, use_cache=True)
        else:
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
            out = model(input_ids=ids, use_cache=False)
    return tokens
