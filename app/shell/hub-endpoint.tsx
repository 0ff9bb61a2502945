// The "Hub endpoint": where the studio reaches the Hugging Face Hub (https://huggingface.co, or a mirror answering
// the same URLs). One setting for the Train tab's model download, the Data step's Hub datasets and the Export tab's
// push (changed in one, changed in all). Each form shows it with HubEndpointField and, when submitted, asks check()
// for the address to use: null (and the reason shown under the form) when what is typed is not an http(s) address.
// An address that passed the check is remembered in localStorage, so a reload starts from a working one.
import { useState } from 'react';
import { useStore } from 'zustand';
import { createStore } from 'zustand/vanilla';
import { oneLine } from '../../src/errors';
import { HF_ENDPOINT } from '../../src/io/download';

const KEY = 'sft-studio.hub-endpoint';
const setting = createStore(() => ({ text: globalThis.localStorage?.getItem(KEY) ?? HF_ENDPOINT }));

export interface HubEndpoint {
  text: string;
  set(text: string): void;
  /** Why the last check refused what was typed, or null. */
  error: string | null;
  /** The endpoint as requests want it (no trailing slash), or null with `error` set. */
  check(): string | null;
}

export function useHubEndpoint(): HubEndpoint {
  const text = useStore(setting, (s) => s.text);
  const [error, setError] = useState<string | null>(null);
  return {
    text, error,
    set(t) { setting.setState({ text: t }); },
    check() {
      let url: URL | null = null;
      try { url = new URL(text.trim()); } catch { /* not a URL: said below */ }
      const ok = url !== null && (url.protocol === 'https:' || url.protocol === 'http:');
      setError(ok ? null : `"${oneLine(text, 100)}" is not a web address: the hub endpoint must start with https:// (or http://), like ${HF_ENDPOINT}.`);
      if (!ok) return null;
      globalThis.localStorage?.setItem(KEY, text);
      return url!.href.replace(/\/+$/, '');
    },
  };
}

/** The labelled field ("Hub endpoint"), described by the form's hint `describedBy`. */
export function HubEndpointField({ hub, describedBy }: { hub: HubEndpoint; describedBy: string }) {
  return (
    <label>
      Hub endpoint
      <input
        type="url" value={hub.text} onChange={(e) => hub.set(e.target.value)} aria-label="Hub endpoint" spellCheck={false}
        aria-invalid={hub.error !== null} aria-describedby={describedBy}
      />
    </label>
  );
}
