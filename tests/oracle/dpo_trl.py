# TRL's preference losses on the studio's tokens and weights: the oracle of tests/node/dpo-trl.test.ts.
# The model is the HF folder loaded by transformers (float32) with the studio's exported adapter loaded by PEFT
# (trainable); the batch is [chosen rows; rejected rows], right-padded, with the studio's completion masks.
# Cases (each from the same starting weights, gradients zeroed):
#  dpo, reference "start": TRL's own DPOTrainer.compute_loss. Given a PeftModel that already has an adapter, TRL
#    copies it as the "ref" adapter: the reference is the policy the run starts from.
#  dpo, reference "base": the same call after deleting that copy, so TRL takes its other PEFT path: the reference
#    is the model with its adapters disabled.
#  dpo with rpo α > 0: DPOTrainer with loss_type ["sigmoid", "sft"] and loss_weights [1, α] (TRL's RPO recipe).
#  dpo with label smoothing ε > 0: TRL ≥ 1.x's `sigmoid` has none, so the cDPO form (older TRL's `sigmoid`)
#    -(1-ε)logσ(βm) - ε logσ(-βm) is applied here to log-probs from TRL's selective_log_softmax.
#  orpo: TRL's ORPOTrainer.odds_ratio_loss on mean answer log-probs, minus from the NLL over the chosen answers'
#    tokens, as ORPOTrainer.get_batch_loss_metrics combines them.
# Usage: dpo_trl.py IN.json OUT.json   IN: {model, adapter, ids: [[...]], masks: [[...]], cases: [{method, beta, eps, reference, rpo?}]}
import json, sys, tempfile, types
import torch
import torch.nn.functional as F
from datasets import Dataset
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer
from trl.experimental.orpo import ORPOTrainer
from trl.trainer.utils import selective_log_softmax

inp = json.load(open(sys.argv[1]))
tok = AutoTokenizer.from_pretrained(inp["model"])
if tok.pad_token is None:
    tok.pad_token = tok.eos_token
rows, masks = inp["ids"], inp["masks"]
T = max(len(r) for r in rows)
pad = lambda r, v: r + [v] * (T - len(r))
input_ids = torch.tensor([pad(r, tok.pad_token_id) for r in rows])
attention_mask = torch.tensor([pad([1] * len(r), 0) for r in rows])
completion_mask = torch.tensor([pad(m, 0) for m in masks])
P = len(rows) // 2


def load():
    base = AutoModelForCausalLM.from_pretrained(inp["model"], dtype=torch.float32)
    model = PeftModel.from_pretrained(base, inp["adapter"], is_trainable=True)
    model.train()   # LoRA dropout is 0 in the test: train mode changes nothing but TRL's bookkeeping
    return model


def seq_logps(m):
    logits = m(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits[:, :-1]
    cm = completion_mask[:, 1:]
    return (selective_log_softmax(logits, input_ids[:, 1:]) * cm).sum(1), cm.sum(1)


def lora_grads(model):
    return {n.replace("base_model.model.", "", 1).replace(".default.weight", ""): p.grad.reshape(-1).tolist()
            for n, p in model.named_parameters() if p.requires_grad}


def run(case):
    model = load()
    beta, eps = case["beta"], case["eps"]
    out = {}
    if case["method"] == "dpo" and eps == 0:
        with tempfile.TemporaryDirectory() as d:
            # RPO (rpo > 0): TRL's combination of the sigmoid loss and its "sft" loss (the chosen answers' NLL).
            rpo = case.get("rpo", 0)
            args = DPOConfig(output_dir=d, beta=beta, loss_type=["sigmoid", "sft"] if rpo else ["sigmoid"],
                             loss_weights=[1.0, rpo] if rpo else None, report_to=[], use_cpu=True, per_device_train_batch_size=P)
            trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_list([{"prompt": "a", "chosen": "b", "rejected": "c"}]), processing_class=tok)
            model = trainer.model
            assert "ref" in model.peft_config, "TRL did not copy the starting adapter as its reference"
            if case["reference"] == "base":
                model.delete_adapter("ref")
            model.zero_grad()
            loss = trainer.compute_loss(model, {"input_ids": input_ids, "attention_mask": attention_mask, "completion_mask": completion_mask})
            loss.backward()
            metrics = {k: v[-1] for k, v in trainer._metrics["train"].items() if v}
            out.update(loss=loss.item(), rewardsChosen=metrics["rewards/chosen"], rewardsRejected=metrics["rewards/rejected"],
                       margins=metrics["rewards/margins"], accuracy=metrics["rewards/accuracies"],
                       logpsChosen=metrics["logps/chosen"], logpsRejected=metrics["logps/rejected"])
    elif case["method"] == "dpo":
        assert case["reference"] == "base"
        with torch.no_grad(), model.disable_adapter():
            ref, _ = seq_logps(model)
        model.zero_grad()
        pol, _ = seq_logps(model)
        m = (pol[:P] - pol[P:]) - (ref[:P] - ref[P:])
        loss = (-(1 - eps) * F.logsigmoid(beta * m) - eps * F.logsigmoid(-beta * m)).mean()
        loss.backward()
        rc, rr = beta * (pol[:P] - ref[:P]).detach(), beta * (pol[P:] - ref[P:]).detach()
        out.update(loss=loss.item(), rewardsChosen=rc.mean().item(), rewardsRejected=rr.mean().item(),
                   margins=(rc - rr).mean().item(), accuracy=(rc > rr).float().mean().item())
    else:
        model.zero_grad()
        sums, counts = seq_logps(model)
        avg = sums / counts
        fake = types.SimpleNamespace(beta=beta, accelerator=types.SimpleNamespace(device="cpu"))
        losses, rc, rr, _, _ = ORPOTrainer.odds_ratio_loss(fake, avg[:P], avg[P:])
        nll = -sums[:P].sum() / counts[:P].sum()   # cross-entropy over the chosen answers' tokens, mean over tokens
        loss = nll - losses.mean()
        loss.backward()
        out.update(loss=loss.item(), rewardsChosen=rc.mean().item(), rewardsRejected=rr.mean().item(),
                   margins=(rc - rr).mean().item(), accuracy=(rc > rr).float().mean().item())
    out["grads"] = lora_grads(model)
    return out


torch.manual_seed(0)
json.dump([run(c) for c in inp["cases"]], open(sys.argv[2], "w"))
