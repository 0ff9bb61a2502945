// LoRA as PEFT defines it: for a targeted linear y = x W^T + b, add s·(dropout(x) A^T) B^T with
//   A [r, in] ~ kaiming_uniform(a=√5)  (= U(-1/√in, 1/√in)),  B [out, r] = 0,
//   s = alpha / r, or alpha / √r with rsLoRA.
// Targets match module names by suffix, as PEFT's target_modules list does ('q_proj' matches
// 'model.layers.3.self_attn.q_proj'; 'c_proj' matches both GPT-2 c_proj modules).

export interface LoraConfig {
  rank: number;
  alpha: number;
  dropout: number;
  useRslora: boolean;
  targetModules: string[];
}

export const DEFAULT_LORA: LoraConfig = {
  rank: 8,
  alpha: 16,
  dropout: 0,
  useRslora: false,
  targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
};

export function loraScale(cfg: LoraConfig): number {
  return cfg.useRslora ? cfg.alpha / Math.sqrt(cfg.rank) : cfg.alpha / cfg.rank;
}

export function isLoraTarget(cfg: LoraConfig, modulePath: string): boolean {
  return cfg.targetModules.some((t) => modulePath === t || modulePath.endsWith(`.${t}`));
}

/** PEFT's A initialisation, seeded: kaiming_uniform_(a=√5) on [r, in] is U(-1/√in, 1/√in). */
export function initLoraA(rank: number, inFeatures: number, random: () => number): Float32Array {
  const bound = 1 / Math.sqrt(inFeatures);
  const a = new Float32Array(rank * inFeatures);
  for (let i = 0; i < a.length; i++) a[i] = (random() * 2 - 1) * bound;
  return a;
}
