// Real transformers (and PEFT) as the oracle: hands a config.json, weights and a batch to tests/oracle/*.py, run
// by the repository's .venv Python (scripts/ensure-python-venv.sh builds it, offline, from the local mirror),
// and reads back its JSON. The Python side builds AutoModelForCausalLM.from_config(config) in float64 with eager
// attention and loads the weights strictly (every parameter, nothing extra), so a name, shape or config field
// the engine reads differently from transformers fails loudly instead of being papered over by a shared copy.
// Exchange: raw float32 tensors + manifest.json in a temporary folder (TorchOracle's format).
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { TorchOracle, venvPython, type RawTensor } from './torch';

const ORACLE_DIR = resolve(__dirname, '..', 'oracle');

/** Runs tests/oracle/SCRIPT over the given case folders in one Python process (imports cost seconds). */
function runOracle(script: string, dirs: string[]): void {
  execFileSync(venvPython(), [join(ORACLE_DIR, script), ...dirs], { stdio: 'inherit' });
}

export interface LoraSpec { targets: string[]; r: number; alpha: number; rslora: boolean }

export interface ParityCase {
  config: Record<string, unknown>;
  /** Base weights (HF names) and, with LoRA, our '<module>.lora_A' [r, in] / '.lora_B' [out, r] values. */
  tensors: Map<string, RawTensor>;
  /** null: full fine-tuning, every parameter trains. */
  lora: LoraSpec | null;
  /** Our names of the trainable tensors; transformers/PEFT must train exactly these. */
  trainable: string[];
  decay: string[];
  batch: { B: number; T: number; ids: number[]; targets: number[]; lossMask: number[] };
  greedy: { prompt: number[]; steps: number };
  train: { steps: number; warmupSteps: number; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maxGradNorm: number };
}

export interface ParityReference {
  /** [B, T, V] flat. */
  logits: number[];
  /** Masked mean cross-entropy. */
  loss: number;
  /** Every trainable tensor's gradient after one backward, by our name. */
  grads: Record<string, number[]>;
  /** Greedy tokens through transformers' KV cache, and recomputing the whole sequence each step. */
  tokens: number[];
  tokensNoCache: number[];
  /** The loss of each AdamW step. */
  curve: number[];
}

/** transformers' answers for each case (tests/oracle/parity.py), in one Python run. */
export function transformersParity(cases: ParityCase[]): { results: ParityReference[]; dispose: () => void } {
  const oracles = cases.map((c) => {
    const o = new TorchOracle();
    const { tensors, ...rest } = c;
    o.writeManifest(tensors, rest as unknown as Record<string, unknown>);
    return o;
  });
  try {
    runOracle('parity.py', oracles.map((o) => o.dir));
    return { results: oracles.map((o) => o.readJson<ParityReference>('reference.json')), dispose: () => oracles.forEach((o) => o.dispose()) };
  } catch (e) {
    oracles.forEach((o) => o.dispose());
    throw e;
  }
}

export interface SelfCheck {
  /** Max |difference| between two ways transformers/PEFT compute the same thing (see selfcheck.py). */
  errors: { loss: number; loraZeroB: number; loraMerged: number; reload: number };
  /** Max |logit change| the random LoRA causes (the LoRA checks are not vacuous). */
  loraEffect: number;
  tokens: number[];
  tokensNoCache: number[];
  tokensGenerate: number[];
  /** The parameter table transformers builds for the config (what the engine must load). */
  weights: Record<string, number[]>;
  loraModules: string[];
  /** What transformers made of config.json (head_dim, layer_types, rope_parameters, ...). */
  config: Record<string, unknown>;
}

/** The oracle alone on a random model of each config (tests/oracle/selfcheck.py), in one Python run. */
export function transformersSelfCheck(cases: { config: Record<string, unknown>; lora: LoraSpec; ids: number[]; steps: number }[]): SelfCheck[] {
  const oracles = cases.map((c) => {
    const o = new TorchOracle();
    o.writeManifest(new Map(), c);
    return o;
  });
  try {
    runOracle('selfcheck.py', oracles.map((o) => o.dir));
    return oracles.map((o) => o.readJson<SelfCheck>('selfcheck.json'));
  } finally {
    oracles.forEach((o) => o.dispose());
  }
}

/** Prompt logits and greedy tokens of transformers' from_pretrained(folder) (tests/oracle/greedy.py). */
export function transformersGreedy(folder: string, prompt: number[], steps: number): { tokens: number[]; logits: number[] } {
  const o = new TorchOracle();
  try {
    o.writeManifest(new Map(), { model: folder, prompt, steps });
    runOracle('greedy.py', [o.dir]);
    return o.readJson('greedy.json');
  } finally {
    o.dispose();
  }
}

/** Greedy tokens and prompt logits of real PEFT: PeftModel.from_pretrained(from_pretrained(baseDir), adapterDir). */
export function peftGreedy(baseDir: string, adapterDir: string, prompt: number[], steps: number): { tokens: number[]; logits: number[] } {
  const o = new TorchOracle();
  try {
    o.writeManifest(new Map(), { base: baseDir, adapter: adapterDir, prompt, steps });
    runOracle('peft_roundtrip.py', [o.dir]);
    return o.readJson('peft.json');
  } finally {
    o.dispose();
  }
}

/** Per model type: the keys of its config class (declared), the keys transformers' code read off the config while it
 *  built and ran the given config.json files (consulted), and the class's default config. */
export interface TransformersConfigKeys { declared: string[]; consulted: string[]; defaults: Record<string, unknown> }

/** What transformers' config classes and modeling code read, per model type (tests/oracle/config_keys.py), in one Python run. */
export function transformersConfigKeys(cases: { modelType: string; configs: Record<string, unknown>[] }[]): Record<string, TransformersConfigKeys> {
  const o = new TorchOracle();
  try {
    o.writeManifest(new Map(), { cases });
    runOracle('config_keys.py', [o.dir]);
    return o.readJson('keys.json');
  } finally {
    o.dispose();
  }
}
