// The production build's engine worker runs GRPO with a JavaScript reward (headless Chromium, the built app): the
// reward sandbox's program is made with Function.prototype.toString of a function the bundler has minified
// (src/train/reward-sandbox.ts), so this is where a bundler that renamed what it refers to, or hoisted a helper out of
// it, would show. The page speaks the engine's own messages (workers/engine-channel.ts) to the built
// engine-worker-*.js: load the built-in model, then a 2-step GRPO run whose reward is the answer's length in characters
// (a number only the user's function computes) and throws on answers that contain a digit. Each answer's reward must
// be its text's length, or an error naming the function, and the run completes with its points and groups.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartGrpoRunArgs } from '../../src/engine/api';
import { DEFAULT_GRPO, type GrpoConfig } from '../../src/train/grpo';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import type { EngineReply } from '../../workers/engine-channel';
import { buildApp, startApp, type RunningApp } from './helpers/app';

let app: RunningApp;
let worker = '';

beforeAll(async () => {
  const dist = await buildApp();
  worker = readdirSync(join(dist, 'assets')).find((f) => /^engine-worker-.*\.js$/.test(f))!;
  app = await startApp({ dist });
}, 180_000);

afterAll(async () => { await app?.close(); });

const LENGTH = `export default ({ completion }) => {
  if (/[0-9]/.test(completion)) throw new Error('a digit');
  return completion.length;
};`;

describe('GRPO in the built engine worker', () => {
  it('a JavaScript reward runs in the sandbox the production bundle makes', async () => {
    const page = await app.newPage();
    // Settings as the Train tab would send them, made here (plain data crosses into the page).
    const lora = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] };
    const config: RunConfig = { ...PRESETS.quick, lora, evalEvery: 0, checkpointEvery: 0, train: { ...PRESETS.quick.train, lr: 1e-3, maxSteps: 2, batchSize: 8, maxSeqLength: 64, seed: 3 } };
    const grpo: GrpoConfig = { ...DEFAULT_GRPO, numGenerations: 4, maxNewTokens: 12, rewards: [{ kind: 'function', name: 'length.mjs', source: LENGTH, weight: 1 }] };
    const questions = ['Where does Juno live?', "What is Calder's job?", "What is Mira's pet?", 'Where does Rafe live?'];
    const args: StartGrpoRunArgs = { name: 'grpo', config, grpo, records: questions.map((q) => ({ messages: [{ role: 'user', content: q }], split: 'train' })) };
    const replies = await page.evaluate(async ({ url, args }) => {
      // Named without a tab: the engine writes its runs without the writer role (no other tab here).
      const w = new Worker(url, { type: 'module', name: 'engine-e2e' });
      const all: EngineReply[] = [];
      const call = (id: number, kind: string, a: unknown) => new Promise<void>((ok) => {
        w.addEventListener('message', (e: MessageEvent<EngineReply>) => {
          if (e.data.id !== id) return;
          all.push(e.data);
          if (e.data.kind !== 'event') ok();
        });
        w.postMessage({ id, kind, args: a });
      });
      await call(1, 'loadModel', { source: { kind: 'url', name: 'built-in model', baseUrl: new URL('models/default/', location.href).href } });
      await call(2, 'startGrpoRun', args);
      w.terminate();
      return all;
    }, { url: new URL(`assets/${worker}`, app.url).href, args });

    const thrown = replies.filter((r) => r.kind === 'throw');
    expect(thrown).toEqual([]);
    const done = replies.find((r) => r.id === 2 && r.kind === 'return') as Extract<EngineReply, { kind: 'return' }>;
    const run = (done.result as { status: string; run: { metrics: { reward: number; unscorable: number; errors: string[] }[] } });
    expect(run.status).toBe('completed');
    expect(run.run.metrics).toHaveLength(2);
    const groups = replies.flatMap((r) => (r.kind === 'event' && r.event.type === 'groups' ? r.event.groups : []));
    const answers = groups.flatMap((g) => g.answers);
    expect(answers).toHaveLength(16);
    for (const a of answers) {
      if (/[0-9]/.test(a.text)) expect(a.error).toBe('reward length.mjs: Error: a digit');
      else expect([a.error, a.rewards[0]]).toEqual([null, a.text.length]);
    }
    expect(answers.some((a) => a.error === null && a.text.length > 0)).toBe(true);
    expect(run.run.metrics.reduce((n, p) => n + p.unscorable, 0)).toBe(answers.filter((a) => a.error).length);
    expect(app.errors).toEqual([]);
  }, 300_000);
});
