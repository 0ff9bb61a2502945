# The config keys transformers itself consults for a model type (tests/node/config-keys.test.ts classifies each one
# as read, refused, or known not to alter the forward pass). Two sources, so that neither a key of the config class
# nor a key that shared code looks up on any config can be missed:
#   declared  the keys of the config class's own to_dict() (its default config, as save_pretrained writes it)
#   consulted every attribute the modeling code reads off the config object while it builds each tiny model of the
#             type (the parity test's config.json files) and runs it: an eval forward, a cached decode step, a training forward
#             with labels and its backward. The config records the reads itself (a subclass whose __getattribute__
#             notes each name); attribute_map aliases (GPT-2's hidden_size -> n_embd) are resolved, methods, private
#             names and dunders dropped.
# Usage: config_keys.py DIR   DIR/manifest.json {cases: [{modelType, configs: [config.json dict, ...]}]}
# -> DIR/keys.json {modelType: {declared: [...], consulted: [...], defaults: to_dict()}}
import json
import sys

import torch
from transformers import AutoConfig
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING


def consulted(model_type, config_json):
    c = dict(config_json)
    c.pop("model_type")
    cfg = AutoConfig.for_model(model_type, **c)
    cls = type(cfg)
    seen = set()

    class Recording(cls):
        def __getattribute__(self, name):
            if not name.startswith("__"):
                seen.add(name)
            return cls.__getattribute__(self, name)

    cfg.__class__ = Recording
    torch.manual_seed(0)
    # the auto class refuses an unregistered config class, so the model class is looked up by the real one
    model = MODEL_FOR_CAUSAL_LM_MAPPING[cls]._from_config(cfg, attn_implementation="eager").to(torch.float64)
    ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]])
    model.eval()
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True)
        model(input_ids=torch.tensor([[9]]), past_key_values=out.past_key_values, use_cache=True)
    model.train()
    model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
    cfg.__class__ = cls
    aliases = getattr(cls, "attribute_map", {})
    names = {aliases.get(n, n) for n in seen}
    return sorted(n for n in names if not n.startswith("_") and not callable(getattr(cfg, n, None)))


def run(d):
    man = json.load(open(f"{d}/manifest.json"))
    out = {}
    for case in man["cases"]:
        mt = case["modelType"]
        defaults = AutoConfig.for_model(mt).to_dict()
        out[mt] = {
            "declared": sorted(defaults),
            "consulted": sorted(set().union(*(consulted(mt, c) for c in case["configs"]))),
            "defaults": defaults,
        }
    json.dump(out, open(f"{d}/keys.json", "w"))


run(sys.argv[1])
