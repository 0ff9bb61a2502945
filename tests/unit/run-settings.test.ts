// The Train form's settings survive a tab switch and a reload (issue 15: "the preset's values shown after a
// reload"): what was saved comes back, a custom config included; an unparseable knob (NaN, stored as null) or
// a foreign value gives the fallback instead of a broken form.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { presetFor } from '../../src/train/presets';
import { loadRunSettings, saveRunSettings, type RunSettings } from '../../app/features/training/runSettings';

const MODEL = { architecture: 'llama' as const, maxPositions: 2048, hiddenSize: 2048 };
const fallback = (): RunSettings => ({ preset: 'quick', cfg: presetFor('quick', MODEL) });

beforeEach(() => {
  const m = new Map<string, string>();
  (globalThis as { localStorage?: Pick<Storage, 'getItem' | 'setItem'> }).localStorage = { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) };
});
afterEach(() => { delete (globalThis as { localStorage?: unknown }).localStorage; });

describe('run settings', () => {
  it('gives the fallback when nothing is stored, and what was saved afterwards', () => {
    expect(loadRunSettings(fallback)).toEqual(fallback());
    const custom: RunSettings = { preset: null, cfg: { ...fallback().cfg, train: { ...fallback().cfg.train, maxSteps: 12, lr: 2e-4 } } };
    saveRunSettings(custom);
    expect(loadRunSettings(fallback)).toEqual(custom);
    saveRunSettings({ preset: 'thorough', cfg: presetFor('thorough', MODEL) });
    expect(loadRunSettings(fallback)).toEqual({ preset: 'thorough', cfg: presetFor('thorough', MODEL) });
  });

  it('drops a config with an unparseable knob or of another shape', () => {
    saveRunSettings({ preset: null, cfg: { ...fallback().cfg, train: { ...fallback().cfg.train, lr: Number.NaN } } });
    expect(loadRunSettings(fallback)).toEqual(fallback());
    localStorage.setItem('sft-studio.run-settings', '{"preset":"quick","cfg":{"rank":8}}');
    expect(loadRunSettings(fallback)).toEqual(fallback());
    localStorage.setItem('sft-studio.run-settings', 'not json');
    expect(loadRunSettings(fallback)).toEqual(fallback());
  });
});
