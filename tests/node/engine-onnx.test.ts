// The engine's two generation backends through its real message protocol: after a short run on a tiny Llama,
// the tuned model answers with the same tokens from our WebGPU engine and from onnxruntime-web (wasm) on the
// ONNX export of the same weights, for greedy and seeded sampling; 'auto' on this software adapter picks onnx;
// checkOnnx passes for the run's adapter. The base model's answers differ from the tuned ones (so the
// comparison can fail), and another run's adapter gets its own ONNX session, not the cached one.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import type { GenerateArgs, StartRunArgs } from '../../src/engine/api';
import { droppedFiles, engineOver } from '../helpers/engine';
import { testGpu } from '../helpers/gpu';


describe('engine generation backends', () => {
  it('answers with the same tokens from the WebGPU engine and onnxruntime-web, and checks the export', async () => {
    const engine = engineOver();

    const files = buildTinyModel('llama-small', 4);
    const source = droppedFiles('tiny', files);
    await engine.loadModel(source);
    const records: StartRunArgs['records'] = [['Say hi.', 'Hi there!'], ['Say bye.', 'Bye now!'], ['Count.', 'One two three.']].map(([q, a]) => ({
      messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }], split: 'train',
    }));
    const config: RunConfig = {
      ...PRESETS.quick,
      lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'up_proj'] },
      train: { ...PRESETS.quick.train, lr: 3e-2, maxSteps: 6, batchSize: 3, gradAccumSteps: 1, maxSeqLength: 48, seed: 1 },
      evalEvery: 0, checkpointEvery: 3,
    };
    const { runId, status } = await engine.startRun({ name: 'r', config, records, dataset: null });
    expect(status).toBe('completed');

    const tuned = { kind: 'run', runId, checkpoint: 'last' } as const;
    const prompt: GenerateArgs['prompt'] = { kind: 'chat', messages: [{ role: 'user', content: 'Say hi.' }] };
    const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 1, maxNewTokens: 12, stopStrings: [] };
    const sampled = { ...greedy, temperature: 0.9, topK: 20, topP: 0.9, repetitionPenalty: 1.1, seed: 7 };

    for (const sampling of [greedy, sampled]) {
      const viaEngine = await engine.generate({ adapter: tuned, prompt, sampling, backend: 'webgpu' });
      const viaOnnx = await engine.generate({ adapter: tuned, prompt, sampling, backend: 'onnx' });
      expect(viaEngine.backend).toBe('webgpu');
      expect(viaOnnx.backend).toBe('onnx');
      expect(viaEngine.tokens.length).toBeGreaterThan(0);
      expect(viaOnnx.tokens).toEqual(viaEngine.tokens);
      expect(viaOnnx.text).toBe(viaEngine.text);
    }
    const auto = await engine.generate({ adapter: tuned, prompt, sampling: greedy });
    // 'auto' is ours on any adapter for this small f32 model (on a software adapter, its CPU step: cpu-decode.ts).
    expect(auto.backend).toBe('webgpu');
    expect(auto.cpuStep).toBe((await testGpu()).isSoftware);

    const baseOnnx = await engine.generate({ adapter: { kind: 'base' }, prompt, sampling: greedy, backend: 'onnx' });
    const baseEngine = await engine.generate({ adapter: { kind: 'base' }, prompt, sampling: greedy, backend: 'webgpu' });
    expect(baseOnnx.tokens).toEqual(baseEngine.tokens);
    expect(baseOnnx.tokens).not.toEqual(auto.tokens);

    // A one-step run: its ONNX answer is its own (the engine's), not the cached session of the first run.
    const { runId: shortRun } = await engine.startRun({ name: 's', config: { ...config, train: { ...config.train, maxSteps: 1 } }, records, dataset: null });
    const early = { kind: 'run', runId: shortRun, checkpoint: 'last' } as const;
    const earlyOnnx = await engine.generate({ adapter: early, prompt, sampling: greedy, backend: 'onnx' });
    expect(earlyOnnx.tokens).toEqual((await engine.generate({ adapter: early, prompt, sampling: greedy, backend: 'webgpu' })).tokens);

    const check = await engine.checkOnnx({ adapter: tuned, prompt: 'Say bye.' });
    expect(check.ok).toBe(true);
    expect(check.maxRelDiff).toBeLessThan(1e-3);
    expect(check.sameTokens).toBe(true);
    expect(check.ortTokensPerSecond).toBeGreaterThan(0);
    expect(check.engineTokensPerSecond).toBeGreaterThan(0);
    console.log(JSON.stringify({ onnxCheck: check }));
  });
});
