# TRL's GRPOTrainer on the studio's tokens, answers, rewards and weights: the oracle of tests/node/grpo-trl.test.ts.
# The model is the HF folder loaded by transformers (float32) with the studio's exported adapter loaded by PEFT
# (trainable). Per case a real GRPOTrainer (GRPOConfig with the case's knobs) runs its own
# _generate_and_score_completions on the fixed answers: only the two generation primitives are replaced
# (_tokenize_prompts gives the studio's prompt ids, _generate_single_turn its answers) and the reward functions
# return the fixed rewards (None where the studio's reward failed), so TRL computes the rewards' sum, the group
# advantages, the old log-probs (num_iterations > 1) and the reference log-probs (beta > 0) itself. Then its
# _compute_loss on each micro-batch (split_tensor_dict into gradient_accumulation_steps parts, in order: TRL's shuffle
# changes no sum), backward, the losses summed as its training loop logs them.
# Reference: with beta > 0 TRL copies the starting adapter as "ref" (the studio's 'start'); for 'base' that copy is
# deleted, so TRL takes the adapter-disabled path.
# num_iterations > 1: after the first pass, the studio's adapter after its first step (next_adapter) is loaded into
# the "default" adapter and _compute_loss runs again on the same buffered batch (old log-probs from generation time).
# Usage: grpo_trl.py IN.json OUT.json
#   IN: {model, adapter, prompts: [[messages]], prompt_ids: [[ids]], completions: [[ids]], rewards: [[r or null]],
#        cases: [{loss_type, beta, reference, scale_rewards, epsilon, epsilon_high, temperature, num_iterations, G, B, GA,
#                 max_completion_length, reward_weights, next_adapter?}]}
import json, logging, sys, tempfile
import torch
import transformers
from datasets import Dataset
from peft import PeftModel, set_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer
from trl.trainer.utils import split_tensor_dict

# Quiet: the unscorable answer is deliberate (TRL warns about it), and the weights' progress bar is noise here.
logging.getLogger("trl").setLevel(logging.ERROR)
transformers.utils.logging.disable_progress_bar()
inp = json.load(open(sys.argv[1]))
tok = AutoTokenizer.from_pretrained(inp["model"])
if tok.pad_token is None:
    tok.pad_token = tok.eos_token


def lora_grads(model):
    return {n.replace("base_model.model.", "", 1).replace(".default.weight", ""): p.grad.reshape(-1).tolist()
            for n, p in model.named_parameters() if p.requires_grad and ".default." in n}


def passes(trainer, model, out, GA):
    model.zero_grad()
    total = 0.0
    for part in split_tensor_dict(out, GA):
        loss = trainer._compute_loss(model, part)
        loss.backward()
        total += loss.item()
    m = trainer._metrics["train"]
    last = lambda k: m[k][-GA:] if k in m else []
    kl = last("kl")
    return {"loss": total, "grads": lora_grads(model), "kl": sum(kl) / len(kl) if kl else None,
            "clipRatio": sum(last("clip_ratio/region_mean")) / GA}


def run(case):
    G, B, GA = case["G"], case["B"], case["GA"]
    n = len(inp["completions"])
    base = AutoModelForCausalLM.from_pretrained(inp["model"], dtype=torch.float32)
    model = PeftModel.from_pretrained(base, inp["adapter"], is_trainable=True)
    rewards = inp["rewards"]
    funcs = []
    for k in range(len(rewards[0])):
        def f(prompts, completions, completion_ids, _k=k, **kw):
            assert len(completions) == n
            return [row[_k] for row in rewards]
        f.__name__ = f"r{k}"
        funcs.append(f)
    with tempfile.TemporaryDirectory() as d:
        args = GRPOConfig(
            output_dir=d, report_to=[], use_cpu=True, bf16=False, gradient_checkpointing=False,
            beta=case["beta"], loss_type=case["loss_type"], scale_rewards=case["scale_rewards"],
            epsilon=case["epsilon"], epsilon_high=case["epsilon_high"], temperature=case["temperature"],
            num_iterations=case["num_iterations"], num_generations=G, per_device_train_batch_size=B,
            gradient_accumulation_steps=GA, max_completion_length=case["max_completion_length"],
            reward_weights=case["reward_weights"])
        prompts = [{"prompt": p} for p in inp["prompts"]]
        trainer = GRPOTrainer(model=model, reward_funcs=funcs, args=args, train_dataset=Dataset.from_list(prompts), processing_class=tok)
        model = trainer.model
        if case["beta"] > 0:
            assert "ref" in model.peft_config, "TRL did not copy the starting adapter as its reference"
            if case["reference"] == "base":
                model.delete_adapter("ref")
        trainer._tokenize_prompts = lambda ps: ([list(x) for x in inp["prompt_ids"]], None, {})
        trainer._generate_single_turn = lambda ids, images, mm: ([list(c) for c in inp["completions"]], None)
        trainer.current_gradient_accumulation_steps = GA
        model.train()   # LoRA dropout is 0 in the test
        inputs = [prompts[i // G] for i in range(n)]
        out = trainer._generate_and_score_completions(inputs)
        assert ("old_per_token_logps" in out) == (case["num_iterations"] > 1)
        result = passes(trainer, model, out, GA)
        result["advantages"] = out["advantages"].tolist()
        if case.get("next_adapter"):
            missing = set_peft_model_state_dict(model, load_file(case["next_adapter"]), adapter_name="default")
            assert not missing.unexpected_keys, missing.unexpected_keys
            result["next"] = passes(trainer, model, out, GA)
        return result


torch.manual_seed(0)
json.dump([run(c) for c in inp["cases"]], open(sys.argv[2], "w"))
