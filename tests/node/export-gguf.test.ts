// GGUF LoRA export, checked by an independent Python parser (tests/oracle/gguf_check.py, numpy + PyTorch, written
// from the GGUF spec and llama.cpp's loader rules): the container parses (magic, version 3, alignment 32,
// offsets, padding), the metadata is what llama.cpp requires, every A/B comes back equal to ours (exactly in
// f32; to f16 rounding in f16) after undoing the q/k row permutation, and (Llama with rsLoRA) merging by
// llama.cpp's scale rule (alpha / r) into the base reproduces our tuned logits to 1e-4 relative in the
// independent PyTorch model. Llama (GQA, rsLoRA), Qwen2 (no permutation) and GPT-2 (fused c_attn, Conv1D).
// Where llama.cpp's own gguf-py wheel is on disk, its GGUFReader reads the file too and its TensorNameMap
// (convert_hf_to_gguf.py's table) names every module as we do.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ggufArch } from '../../src/export/gguf-arch';
import { exportGgufLora, ggufTensorName, permuteRopeRows, quantizeQ8_0, type GgufLoraOptions } from '../../src/export/gguf';
import { initWeights, tinyConfig } from '../../src/model/init';
import type { ModelConfig } from '../../src/model/config';
import { loraScale, type LoraConfig } from '../../src/model/lora';
import { Transformer } from '../../src/model/transformer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { relMax, TorchOracle, venvPython, type RawTensor } from '../helpers/torch';
import { logitsOf } from '../helpers/model';

const oracles: TorchOracle[] = [];
afterAll(() => oracles.forEach((o) => o.dispose()));


// `logits`: also run the PyTorch model (~10 s of torch start-up on this machine, so on the case with every
// convention at once: q/k permutation, GQA, rsLoRA scale). GPT-2's orientation is pinned by the shape rules on
// c_attn/c_fc (in ≠ out) and by A/B coming back equal to ours..
const cases: { kind: 'llama' | 'qwen2' | 'gpt2'; arch: string; lora: LoraConfig; dtype: NonNullable<GgufLoraOptions['dtype']>; logits: boolean }[] = [
  { kind: 'llama', arch: 'llama', dtype: 'F32', logits: true, lora: { rank: 4, alpha: 8, dropout: 0.05, useRslora: true, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] } },
  { kind: 'llama', arch: 'llama', dtype: 'F16', logits: false, lora: { rank: 2, alpha: 4, dropout: 0, useRslora: false, targetModules: ['q_proj', 'k_proj'] } },
  { kind: 'qwen2', arch: 'qwen2', dtype: 'F32', logits: false, lora: { rank: 4, alpha: 16, dropout: 0, useRslora: false, targetModules: ['q_proj', 'k_proj', 'down_proj'] } },
  { kind: 'gpt2', arch: 'gpt2', dtype: 'F32', logits: false, lora: { rank: 2, alpha: 4, dropout: 0, useRslora: false, targetModules: ['c_attn', 'c_proj', 'c_fc'] } },
];

describe('GGUF LoRA export', () => {
  for (const { kind, arch, lora, dtype, logits } of cases) {
    it(`${kind} ${dtype}${lora.useRslora ? ' rsLoRA' : ''}: parses by the spec, gives back our A/B${logits ? ", and the tuned logits by llama.cpp's rules" : ''}`, async () => {
      const gpu = await testGpu();
      const config = tinyConfig(kind);
      const weights = initWeights(config, 4, 0.2);
      const model = new Transformer(gpu, config, weights, { kind: 'lora', lora }, 2);
      const r = rng(17);
      const manifest = new Map<string, RawTensor>(weights);
      for (const name of model.params.trainableNames()) {
        const shape = model.params.specs.get(name)!.shape;
        const data = Float32Array.from({ length: shape[0] * shape[1] }, () => (r() * 2 - 1) * 0.4);
        gpu.write(model.params.get(name), data);
        manifest.set(`lora.${name}`, { shape, data });
      }
      const ids = Array.from({ length: 9 }, (_, i) => (i * 29 + 3) % config.vocabSize);
      const tuned = await logitsOf(model, ids);

      const files = await exportGgufLora(model, { name: `tiny-${kind}`, dtype });
      const fileName = `adapter-${dtype.toLowerCase()}.gguf`;
      expect([...files.keys()]).toEqual([fileName]);

      const oracle = new TorchOracle();
      oracles.push(oracle);
      const path = join(oracle.dir, fileName);
      writeFileSync(path, files.get(fileName)!);
      oracle.writeManifest(manifest, { config, ids, arch, logits });
      const py = oracle.run<{ logits: number[] | null; modules: string[]; max_diff: number; kv: Record<string, unknown>; alignment: number; version: number }>('gguf_check.py', [path], 'gguf.json');
      expect(py.version).toBe(3);
      expect(py.alignment).toBe(32);
      expect(py.kv).toMatchObject({ 'general.type': 'adapter', 'adapter.type': 'lora', 'general.architecture': arch, 'general.name': `tiny-${kind}`, 'general.file_type': dtype === 'F32' ? 0 : 1 });
      // llama.cpp's scale is alpha / r: the file's alpha is lora_alpha, or lora_alpha·√r under rsLoRA
      expect(py.kv['adapter.lora.alpha'] as number).toBeCloseTo(loraScale(lora) * lora.rank, 5);
      expect(py.modules.length * 2).toBe(model.params.trainableNames().length);
      // f32 is exact; f16 rounds |x| < 0.5 to within half an ulp of [0.25, 0.5): 2^-13
      expect(py.max_diff).toBeLessThanOrEqual(dtype === 'F32' ? 0 : 2 ** -13);
      if (!logits) { model.destroy(); return; }
      expect(py.logits).not.toBeNull();
      const err = relMax(tuned, py.logits!);
      console.log(`${kind} ${dtype}: GGUF-merged logits rel err ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
      // and the adapter matters: the base model is far from it
      const base = new Transformer(gpu, config, weights, { kind: 'none' });
      expect(relMax(await logitsOf(base, ids), py.logits!)).toBeGreaterThan(100 * Math.max(err, 1e-6));
      base.destroy();
      model.destroy();
    });
  }

  it("names tensors by llama.cpp's map and permutes q/k rows as convert_hf_to_gguf.py does", () => {
    const llama = tinyConfig('llama'), gpt2 = tinyConfig('gpt2'), qwen3 = tinyConfig('qwen3'), gemma3 = tinyConfig('gemma3', { queryPreAttnScalar: 16 });
    expect(ggufTensorName('model.layers.3.self_attn.q_proj', llama)).toBe('blk.3.attn_q.weight');
    expect(ggufTensorName('model.layers.0.mlp.down_proj', llama)).toBe('blk.0.ffn_down.weight');
    expect(ggufTensorName('transformer.h.1.attn.c_attn', gpt2)).toBe('blk.1.attn_qkv.weight');
    expect(ggufTensorName('transformer.h.1.mlp.c_proj', gpt2)).toBe('blk.1.ffn_down.weight');
    expect(ggufTensorName('model.layers.2.mlp.up_proj', qwen3)).toBe('blk.2.ffn_up.weight');
    expect(ggufTensorName('model.layers.1.self_attn.o_proj', gemma3)).toBe('blk.1.attn_output.weight');
    expect(() => ggufTensorName('lm_head', llama)).toThrow(/no llama.cpp tensor name/);
    // what llama.cpp would run wrong is refused: its gemma3 scales scores by head_dim^-1/2 and wants a sliding
    // period, its smollm3 drops RoPE on every fourth layer only
    expect(() => ggufArch(tinyConfig('gemma3'))).toThrow(/query_pre_attn_scalar 24/);
    expect(() => ggufArch(tinyConfig('gemma3', { queryPreAttnScalar: 16, layerTypes: ['sliding', 'full', 'full'] }))).toThrow(/sliding layers in a period/);
    expect(ggufArch(tinyConfig('gemma3', { queryPreAttnScalar: 16 })).computed).toEqual([['attention.sliding_window', 3, 'u32'], ['attention.sliding_window_pattern', 2, 'u32'], ['rope.freq_base_swa', 10_000, 'f32']]);
    expect(() => ggufArch(tinyConfig('smollm3'))).toThrow(/no_rope_layers 10 differs/);
    expect(ggufArch(tinyConfig('smollm3', { numLayers: 4, ropeLayers: [true, true, true, false] })).name).toBe('smollm3');
    // llama.cpp's llama, qwen2, qwen3 and smollm3 have no sliding window: one shorter than the context is refused,
    // one that cannot bite (at least the context) is not
    const sliding: Partial<ModelConfig> = { layerTypes: ['full', 'sliding'], slidingWindow: 4 };
    expect(() => ggufArch(tinyConfig('llama', { modelType: 'mistral', layerTypes: ['sliding', 'sliding'], slidingWindow: 4 }))).toThrow(/GGUF export: llama.cpp's llama has no sliding-window attention, and this model's sliding_window 4 is shorter than its context \(64\)/);
    expect(() => ggufArch(tinyConfig('qwen2', sliding))).toThrow(/llama.cpp's qwen2 has no sliding-window attention/);
    expect(() => ggufArch(tinyConfig('qwen3', sliding))).toThrow(/llama.cpp's qwen3 has no sliding-window attention/);
    expect(() => ggufArch(tinyConfig('smollm3', { numLayers: 4, ropeLayers: [true, true, true, false], layerTypes: ['full', 'full', 'full', 'sliding'], slidingWindow: 4 }))).toThrow(/llama.cpp's smollm3 has no sliding-window attention/);
    expect(ggufArch(tinyConfig('llama', { modelType: 'mistral', layerTypes: ['sliding', 'sliding'], slidingWindow: 64 })).name).toBe('llama');
    // one head of D = 4 rows [r0 r1 | r2 r3] (rotate-half pairs (r0,r2), (r1,r3)) becomes interleaved [r0 r2 r1 r3]
    const rows = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
    expect([...permuteRopeRows(rows, 4, 2, 1)]).toEqual([0, 0, 2, 2, 1, 1, 3, 3]);
  });

  const WHEEL = '/opt/pypi/files/gguf-0.19.0-py3-none-any.whl';
  // llama.cpp's gguf-py is not installable from npm or Debian; this machine kind keeps its wheel on disk.
  it.skipIf(!existsSync(WHEEL))("llama.cpp's gguf-py reads the files and its tensor map gives our names", async () => {
    const gpu = await testGpu();
    for (const [kind, arch, targets] of [['llama', 'llama', ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']], ['gpt2', 'gpt2', ['c_attn', 'c_proj', 'c_fc']]] as const) {
      const config = tinyConfig(kind);
      const lora: LoraConfig = { rank: 2, alpha: 5, dropout: 0, useRslora: false, targetModules: [...targets] };
      const model = new Transformer(gpu, config, initWeights(config, 1), { kind: 'lora', lora }, 6);
      const r = rng(2);
      const ours = new Map<string, Float32Array>();
      for (const name of model.params.trainableNames()) {
        const shape = model.params.specs.get(name)!.shape;
        const data = Float32Array.from({ length: shape[0] * shape[1] }, () => r() - 0.5);
        gpu.write(model.params.get(name), data);
        ours.set(name, data);
      }
      const files = await exportGgufLora(model);
      const oracle = new TorchOracle();
      oracles.push(oracle);
      const path = join(oracle.dir, 'adapter.gguf');
      writeFileSync(path, files.get('adapter-f32.gguf')!);
      const modules = model.linearModules().filter((l) => l.lora).map((l) => l.name);
      const out = JSON.parse(execFileSync(venvPython(), [join(__dirname, '..', 'oracle', 'gguf_official_check.py'), WHEEL, path, arch, String(config.numLayers), JSON.stringify(modules)], { encoding: 'utf8', maxBuffer: 1 << 26 })) as
        { kv: Record<string, unknown>; tensors: Record<string, { ne: number[]; type: number; data: number[] }>; mapped: Record<string, string>; alignment: number };
      expect(out.alignment).toBe(32);
      expect(out.kv).toMatchObject({ 'general.architecture': arch, 'general.type': 'adapter', 'adapter.type': 'lora', 'adapter.lora.alpha': 5 });
      expect(Object.keys(out.tensors).sort()).toEqual(modules.flatMap((m) => [`${out.mapped[m]}.lora_a`, `${out.mapped[m]}.lora_b`]).sort());
      for (const lin of model.linearModules().filter((l) => l.lora)) {
        const name = out.mapped[lin.name];
        expect(name, lin.name).toBe(ggufTensorName(lin.name, model.config));
        const a = out.tensors[`${name}.lora_a`], b = out.tensors[`${name}.lora_b`];
        expect([a.ne, b.ne, a.type]).toEqual([[lin.inF, 2], [2, lin.outF], 0]);
        expect(Float32Array.from(a.data)).toEqual(ours.get(`${lin.name}.lora_A`));
        if (!/attn_[qk]\./.test(name) || arch !== 'llama') expect(Float32Array.from(b.data)).toEqual(ours.get(`${lin.name}.lora_B`));
      }
      model.destroy();
    }
  });

  it.skipIf(!existsSync(WHEEL))("Q8_0 blocks are byte for byte gguf-py's (convert_hf_to_gguf.py --outtype q8_0)", () => {
    const r = rng(5);
    // outliers, an all-zero block, values on the rounding half-way points, tiny and huge magnitudes
    const x = Float32Array.from({ length: 32 * 512 }, (_, i) => (i < 32 ? 0 : i < 64 ? (i - 48) * 0.5 : i < 96 ? (i - 80) * 1e-30 : (r() * 2 - 1) * (i % 97 === 0 ? 50 : 1) * (i % 1000 === 1 ? 1e20 : 1)));
    const oracle = new TorchOracle();
    oracles.push(oracle);
    writeFileSync(join(oracle.dir, 'x.f32'), new Uint8Array(x.buffer));
    writeFileSync(join(oracle.dir, 'ours.q8_0'), quantizeQ8_0(x));
    const out = JSON.parse(execFileSync(venvPython(), [join(__dirname, '..', 'oracle', 'gguf_q8_check.py'), WHEEL, join(oracle.dir, 'x.f32'), join(oracle.dir, 'ours.q8_0')], { encoding: 'utf8' })) as { bytes: number; differ: number };
    expect(out).toEqual({ bytes: 512 * 34, differ: 0 });
  });
});
