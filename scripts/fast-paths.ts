// What the shader-f16 and subgroup paths change in a LoRA step, on one adapter in one run: the default model
// (public/models/default, its frozen weights held bf16 so that the f16 path applies) trained with the studio's
// quick preset on the sample chats, as four devices on the same adapter: neither feature, f16 only, subgroups
// only (every subgroup variant forced: matmul, norm rows, cross-entropy, grad norm), both. Per case: milliseconds
// per step (after warm-up steps that compile the pipelines), the first and last losses. Prints one JSON naming the
// adapter. Usage: node scripts/run-gpu.mjs scripts/fast-paths.ts [--steps 20] [--warmup 3] [--rounds 2]
// (--gpu swiftshader|lavapipe, or STUDIO_GPU, chooses the adapter). Timings are wall clock; on a software adapter they say nothing of a GPU.
import { readFileSync } from 'node:fs';
import { memorySource } from '../src/data/bytes';
import { importSource } from '../src/data/import';
import { createGpu, type Gpu } from '../src/gpu/runtime';
import { installNodeWebGPU } from '../src/gpu/node';
import { loadHfModel } from '../src/io/hf';
import { filesFromDirectory } from '../src/io/node-files';
import { Transformer } from '../src/model/transformer';
import { setCrossEntropyLayout } from '../src/ops/crossentropy';
import { setMatmulVariant } from '../src/ops/matmul';
import { setRowReduction } from '../src/ops/norm';
import { setGradNormLayout } from '../src/ops/optim';
import { examplesFromRecords } from '../src/tokenize/loss-mask';
import { presetFor } from '../src/train/presets';
import { Trainer } from '../src/train/trainer';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  await installNodeWebGPU();
  const steps = arg('steps', 20), warmup = arg('warmup', 3), rounds = arg('rounds', 2);
  const m = await loadHfModel(filesFromDirectory('public/models/default'));
  const { lora, train } = presetFor('quick', m.config);
  const file = 'public/samples/world-qa.messages.jsonl';
  const records = (await importSource(memorySource('world-qa.messages.jsonl', new Uint8Array(readFileSync(file))))).records;
  const examples = examplesFromRecords(m.tokenizer, m.chatTemplate!, records, { assistantOnly: true, maxSeqLength: train.maxSeqLength })
    .filter((e) => e.truncated === 0);
  const cases = [
    { name: 'f32, no subgroups', f16: false, subgroups: false },
    { name: 'f16', f16: true, subgroups: false },
    { name: 'subgroups', f16: false, subgroups: true },
    { name: 'f16 + subgroups', f16: true, subgroups: true },
  ];
  const gpus = new Map<string, Gpu>();
  let adapter = '';
  const results: Record<string, { msPerStep: number[]; firstLoss: number; lastLoss: number; f16: boolean; subgroups: boolean }> = {};
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      let gpu = gpus.get(c.name);
      if (!gpu) {
        gpu = await createGpu({ f16: c.f16, subgroups: c.subgroups });
        if (c.f16 && !gpu.f16) throw new Error(`${gpu.adapterInfo.description} has no shader-f16`);
        if (c.subgroups) {
          if (!gpu.subgroups) throw new Error(`${gpu.adapterInfo.description} has no subgroups`);
          setMatmulVariant(gpu, 'subgroup');
          setRowReduction(gpu, 'subgroup');
          setCrossEntropyLayout(gpu, 'rowPerWorkgroupSubgroups');
          setGradNormLayout(gpu, 'subgroup');
        }
        gpus.set(c.name, gpu);
        adapter = gpu.adapterInfo.description;
      }
      const model = new Transformer(gpu, m.config, m.weights, { kind: 'lora', lora }, train.seed, {}, 'bf16');
      const trainer = new Trainer(model, examples, { ...train, maxSteps: warmup + steps }, m.tokenizer.padTokenId ?? 0);
      const losses: number[] = [];
      for (let i = 0; i < warmup; i++) losses.push((await trainer.step()).loss);
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) losses.push((await trainer.step()).loss);
      const ms = (performance.now() - t0) / steps;
      const r = results[c.name] ??= { msPerStep: [], firstLoss: losses[0], lastLoss: 0, f16: gpu.f16, subgroups: gpu.subgroups };
      r.msPerStep.push(Number(ms.toFixed(2)));
      r.lastLoss = Number(losses.at(-1)!.toFixed(5));
      r.firstLoss = Number(losses[0].toFixed(5));
      model.destroy();
      process.stderr.write(`round ${round + 1} ${c.name}: ${ms.toFixed(1)} ms/step, loss ${losses[0].toFixed(4)} -> ${losses.at(-1)!.toFixed(4)}\n`);
    }
  }
  for (const g of gpus.values()) g.destroy();
  console.log(JSON.stringify({ adapter, model: 'public/models/default (frozen weights bf16)', batch: { size: train.batchSize, maxSeqLength: train.maxSeqLength }, lora: { rank: lora.rank, targets: lora.targetModules }, steps, warmup, results }, null, 1));
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
