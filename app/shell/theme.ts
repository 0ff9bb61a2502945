// The colour theme: the system's (prefers-color-scheme) unless the user pins light or dark with the header's
// toggle; the choice is remembered in localStorage and applied as html[data-theme] (app/styles.css reads it).
// index.html applies the stored choice before the first paint, so a reload does not flash the other theme.
import { useState } from 'react';

export type Theme = 'system' | 'light' | 'dark';
const THEME_KEY = 'sft-studio.theme';
const ORDER: Theme[] = ['system', 'light', 'dark'];

function stored(): Theme {
  const v = globalThis.localStorage?.getItem(THEME_KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

function apply(t: Theme) {
  if (t === 'system') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', t);
}

export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(stored);
  const next = () => {
    const t = ORDER[(ORDER.indexOf(theme) + 1) % ORDER.length];
    globalThis.localStorage?.setItem(THEME_KEY, t);
    apply(t);
    setTheme(t);
  };
  return [theme, next];
}
