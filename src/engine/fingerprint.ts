// A model's fingerprint: the same weights give the same print, so runs resume and adapters answer only on
// the model they were made on (the worker checks it on resume and import, the CLI on --resume).
import type { ModelMeta, Weight } from '../io/hf';

/**
 * FNV-1a over the config and a strided sample of every weight (by name order): the same model folder gives the
 * same print. Weights arrive one at a time as they stream to the GPU (`sample`); only the samples are kept.
 */
export function fingerprinter(config: ModelMeta['config']): { sample(name: string, w: Weight): void; digest(): string } {
  const samples = new Map<string, Float32Array>();
  return {
    sample(name, w) {
      const stride = Math.max(1, Math.floor(w.data.length / 64));
      samples.set(name, Float32Array.from({ length: Math.ceil(w.data.length / stride) }, (_, k) => w.data[k * stride]));
    },
    digest() {
      let h = 0x811c9dc5;
      const mix = (x: number) => { h ^= x; h = Math.imul(h, 0x01000193) >>> 0; };
      for (const c of JSON.stringify(config)) mix(c.charCodeAt(0));
      const bits = new Uint32Array(1), f = new Float32Array(bits.buffer);
      for (const [name, values] of [...samples].sort(([a], [b]) => (a < b ? -1 : 1))) {
        for (const c of name) mix(c.charCodeAt(0));
        for (const v of values) { f[0] = v; mix(bits[0]); }
      }
      return h.toString(16).padStart(8, '0');
    },
  };
}
