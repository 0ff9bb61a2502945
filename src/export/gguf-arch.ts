// llama.cpp's names for a model's tensors, from its family's descriptor (src/model/arch: each descriptor's gguf()
// holds the GGUF architecture name, tensor names, hyper-parameter keys and weight conventions). Read by the GGUF
// model writer (gguf-model.ts) and the GGUF LoRA writer (gguf.ts).
import { descriptorOf, type GgufArch } from '../model/arch';
import type { ModelConfig } from '../model/config';

export type { GgufArch } from '../model/arch';

/** llama.cpp's architecture for this model. */
export function ggufArch(config: ModelConfig): GgufArch {
  return descriptorOf(config).gguf(config);
}

/** HF parameter name → GGUF tensor name and its block short name ('model.layers.3.self_attn.q_proj.weight' →
 *  { name: 'blk.3.attn_q.weight', short: 'attn_q' }); null for a name the family does not map. */
export function ggufParamName(arch: GgufArch, hfName: string): { name: string; short: string | null } | null {
  if (arch.global[hfName]) return { name: arch.global[hfName], short: null };
  for (const prefix of arch.layerPrefixes) {
    if (!hfName.startsWith(prefix)) continue;
    const m = /^(\d+)\.(.+)\.(weight|bias)$/.exec(hfName.slice(prefix.length));
    const short = m && arch.block[m[2]];
    if (m && short) return { name: `blk.${m[1]}.${short}.${m[3]}`, short };
  }
  return null;
}
