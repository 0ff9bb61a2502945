// The Train form's settings (preset and every knob), kept in localStorage so that they are what the form shows
// after a tab switch or a reload, not the preset's defaults again. A stored value that is not a whole config
// (an older shape, a number field left unparseable: JSON writes NaN as null) is dropped for the fallback.
import type { PresetName, RunConfig } from '../../../src/train/presets';

const KEY = 'sft-studio.run-settings';

export interface RunSettings { preset: PresetName | null; cfg: RunConfig }

function whole(v: unknown): v is RunSettings {
  const s = v as RunSettings | null;
  return !!s && typeof s === 'object' && !!s.cfg?.lora && !!s.cfg?.train && !/:null[,}\]]/.test(JSON.stringify(s.cfg));
}

export function loadRunSettings(fallback: () => RunSettings): RunSettings {
  try {
    const v: unknown = JSON.parse(globalThis.localStorage?.getItem(KEY) ?? 'null');
    return whole(v) ? v : fallback();
  } catch {
    return fallback();
  }
}

export function saveRunSettings(s: RunSettings): void {
  globalThis.localStorage?.setItem(KEY, JSON.stringify(s));
}
