// The engine end to end in Node, through its real message protocol (client ⇄ serveEngine over a
// MessageChannel, structured clone and all): load a tiny model from dropped files, train with evaluation and
// checkpoints, pause mid-run (after step 3 or so), "reload" (a fresh engine on the same run store, the old one abandoned), resume
// from the checkpoint and finish. The resumed run's losses, learning rates, grad norms and validation losses
// equal an uninterrupted run's, bit for bit. Also: base vs tuned generation share one model, invalid configs
// are refused before anything runs, and the adapter exports; conversations are tokenized as the run takes them.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { createMemoryRunStore } from '../../src/storage/runs';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import { createEngine } from '../../src/engine/engine';
import { nodeHost } from '../../src/engine/host-node';
import type { EngineEvent, RunOutcome, StartRunArgs } from '../../src/engine/api';
import { droppedFiles, engineOver } from '../helpers/engine';


const files = buildTinyModel('llama-small', 4);
const source = droppedFiles('tiny-llama', files);

const QA = [['What is 2+2?', 'Four.'], ['Name a colour.', 'Blue.'], ['Say hi.', 'Hi there!'], ['Capital of France?', 'Paris.'], ['Opposite of up?', 'Down.'], ['A fruit?', 'An apple.']];
const records: StartRunArgs['records'] = QA.map(([q, a], i) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }], split: i < 5 ? 'train' : 'validation' }));

const config: RunConfig = {
  ...PRESETS.quick,
  lora: { rank: 4, alpha: 8, dropout: 0.1, useRslora: false, targetModules: ['q_proj', 'v_proj'] },
  train: { ...PRESETS.quick.train, lr: 2e-2, schedule: 'cosine', warmupSteps: 1, maxSteps: 6, batchSize: 2, gradAccumSteps: 1, maxSeqLength: 48, seed: 3 },
  evalEvery: 2, checkpointEvery: 2,
};
const args: StartRunArgs = { name: 'tiny run', config, records, dataset: { id: 'd1', name: 'qa', version: 1 } };

/** The uninterrupted reference run, computed once and shared by the tests below. */
let reference: Promise<{ outcome: RunOutcome; events: EngineEvent[] }> | null = null;
function uninterrupted() {
  reference ??= (async () => {
    const a = engineOver(createMemoryRunStore());
    await a.loadModel(source);
    const events: EngineEvent[] = [];
    return { outcome: await a.startRun(args, (e) => events.push(e)), events };
  })();
  return reference;
}

const curve = (ev: EngineEvent[]) => ev.flatMap((e) => (e.type === 'step' ? [[e.point.step, e.point.loss, e.point.lr, e.point.gradNorm]] : []));
const evals = (ev: EngineEvent[]) => ev.flatMap((e) => (e.type === 'eval' ? [[e.step, e.valLoss]] : []));

describe('engine: train, pause, reload, resume', () => {
  it('resumes after a reload to the same metrics as an uninterrupted run', async () => {
    const { outcome: straight, events: straightEvents } = await uninterrupted();
    expect(straight.status).toBe('completed');
    expect(curve(straightEvents).map((c) => c[0])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(evals(straightEvents).map((e) => e[0])).toEqual([2, 4, 6]);

    // Same run, paused after step 3 and abandoned there.
    const store = createMemoryRunStore();
    const b = engineOver(store);
    await b.loadModel(source);
    const before: EngineEvent[] = [];
    let runId = '';
    let pausedAt = 0;
    const paused = new Promise<void>((ok) => {
      void b.startRun(args, (e) => {
        before.push(e);
        if (e.type === 'run') runId = e.run.id;
        if (e.type === 'step' && e.point.step === 3) void b.control({ runId: e.runId, action: 'pause' });
        if (e.type === 'status' && e.status === 'paused') { pausedAt = before.filter((x) => x.type === 'step').length; ok(); }
      });
    });
    await paused;
    // The pause message crosses the channel while a step runs: it takes effect at the next step boundary.
    expect(pausedAt).toBeGreaterThanOrEqual(3);
    expect(pausedAt).toBeLessThan(6);

    // "Reload": a new engine on the same store sees the run interrupted, with its pause checkpoint.
    const c = engineOver(store);
    const listed = (await c.listRuns()).find((r) => r.id === runId)!;
    expect(listed.status).toBe('interrupted');
    expect(listed.checkpoints.last).toBe(pausedAt);
    await expect(c.resumeRun({ runId: runId })).rejects.toThrow(/Load a model first/);
    await c.loadModel(source);
    const after: EngineEvent[] = [];
    const resumed = await c.resumeRun({ runId: runId }, (e) => after.push(e));
    expect(resumed.status).toBe('completed');
    expect([...curve(before), ...curve(after)]).toEqual(curve(straightEvents));
    expect([...evals(before), ...evals(after)]).toEqual(evals(straightEvents));
    expect(resumed.run.metrics.map((p) => p.loss)).toEqual(straight.run.metrics.map((p) => p.loss));
    expect(resumed.run.final?.valLoss).toBe(straight.run.final?.valLoss);
    expect(straight.run.metrics.at(-1)!.loss).toBeLessThan(straight.run.metrics[0].loss); // it learned something

    // Base and tuned answer from one model; the tuned one is the run's best checkpoint; both are seeded.
    const sampling = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens: 6, stopStrings: [] };
    const prompt = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'Say hi.' }] };
    const tokens: number[] = [];
    const base = await c.generate({ adapter: { kind: 'base' }, prompt, sampling }, (e) => { if (e.type === 'token') tokens.push(e.token); });
    expect(tokens).toEqual(base.tokens);
    const tuned = await c.generate({ adapter: { kind: 'run', runId, checkpoint: 'best' }, prompt, sampling });
    const base2 = await c.generate({ adapter: { kind: 'base' }, prompt, sampling });
    expect(base2.tokens).toEqual(base.tokens); // the run's values were put back, the base is untouched
    expect(tuned.tokens.length).toBeGreaterThan(0);

    const exported = await c.exportAdapter({ runId: runId, checkpoint: 'last' });
    expect(JSON.parse(exported['adapter_config.json']).r).toBe(4);
    expect(exported['adapter_model.safetensors'].length).toBeGreaterThan(100);

    // A second run on the same engine replaces the resident model; both runs are listed.
    const second = await c.startRun({ ...args, name: 'second', config: { ...config, train: { ...config.train, maxSteps: 2 } } });
    expect(second.status).toBe('completed');
    expect((await c.listRuns()).map((r) => r.name).sort()).toEqual(['second', 'tiny run']);
  });

  it('tokenizes conversations as the run takes them: the first step comes before the last one is tokenized', async () => {
    const { events } = await uninterrupted();
    const tokenized = events.flatMap((e, i) => (e.type === 'tokenize' ? [{ i, done: e.done, total: e.total }] : []));
    const firstStep = events.findIndex((e) => e.type === 'step');
    const all = tokenized.find((t) => t.done === t.total);
    // Told at the first conversation (the one that shows there is something to learn) and when the last is done:
    // 6 steps of 2 over 5 training conversations and the validation split's evaluations take every one.
    expect(tokenized[0]).toMatchObject({ done: 1, total: records.length });
    expect(tokenized[0].i).toBeLessThan(firstStep);
    expect(all).toBeDefined();
    expect(firstStep).toBeGreaterThan(-1);
    expect(all!.i).toBeGreaterThan(firstStep);
  });

  it('refuses an invalid combination before anything runs, and says why', async () => {
    const e = engineOver(createMemoryRunStore());
    await e.loadModel(source);
    const bad: RunConfig = { ...config, lora: { ...config.lora, targetModules: ['c_attn'] }, earlyStopPatience: 2, evalEvery: 0 };
    await expect(e.startRun({ ...args, config: bad })).rejects.toThrow(/target module "c_attn" matches no linear layer.*Early stopping watches the validation loss/s);
    expect(await e.listRuns()).toEqual([]);
  });
});

describe('engine: early stopping', () => {
  it('stops at the first evaluation without a new best (patience 1) and keeps the best checkpoint', async () => {
    const e = engineOver(createMemoryRunStore());
    await e.loadModel(source);
    // A learning rate far too high makes the validation loss bounce: deterministic for this seed.
    const cfg: RunConfig = { ...config, train: { ...config.train, lr: 0.5, schedule: 'constant', warmupSteps: 0, maxSteps: 12 }, evalEvery: 1, earlyStopPatience: 1 };
    const r = (await e.startRun({ ...args, config: cfg })).run;
    expect(r.status).toBe('stopped-early');
    const losses = r.evals.map((x) => x.valLoss);
    const firstWorse = losses.findIndex((v, i) => i > 0 && v >= Math.min(...losses.slice(0, i)));
    expect(firstWorse).toBe(losses.length - 1); // it stopped right there, not before, not after
    expect(r.metrics.at(-1)!.step).toBeLessThan(12);
    const best = r.evals.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
    expect(r.checkpoints.best).toBe(best.step);
    expect(r.bestValLoss).toBe(best.valLoss);
  });
});

describe('engine: a lost GPU device', () => {
  it('marks the run interrupted, makes a new device, and resumes to the same losses', async () => {
    const { createGpu } = await import('../../src/gpu/runtime');
    // Own devices (not the shared test one), so destroying one cannot disturb other tests.
    const devices: GPUDevice[] = [];
    const store = createMemoryRunStore();
    const core = createEngine(nodeHost({ runStore: store, createGpu: async () => { const g = await createGpu(); devices.push(g.device); return g; } }));
    const lostEvents: EngineEvent[] = [];
    core.onUnsolicited((e) => lostEvents.push(e));
    const info = await core.loadModel(source);
    expect(info.targetModules).toContain('q_proj');
    const { outcome: straight } = await uninterrupted();

    const before: EngineEvent[] = [];
    let runId = '';
    const failed = core.startRun(args, (e) => {
      before.push(e);
      if (e.type === 'run') runId = e.run.id;
      if (e.type === 'checkpoint' && e.kind === 'last' && e.step === 2) devices.at(-1)!.destroy();
    });
    await expect(failed).rejects.toThrow(/lost|destroyed|abort/i);
    expect(lostEvents.map((e) => e.type)).toContain('device-lost');
    const run = (await store.get(runId))!;
    expect(run.status).toBe('interrupted');
    expect(run.checkpoints.last).toBe(2);
    const resumed = await core.resumeRun({ runId: runId });
    expect(devices.length).toBe(2); // a fresh device, the model re-uploaded from the CPU copy
    expect(resumed.status).toBe('completed');
    expect(resumed.run.metrics.map((p) => [p.step, p.loss, p.gradNorm])).toEqual(straight.run.metrics.map((p) => [p.step, p.loss, p.gradNorm]));
    core.dispose();
  });
});
