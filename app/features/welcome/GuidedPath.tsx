// The guided path: one short note per step (curate → train → compare → export) on what instruction tuning
// changes there and what it does not, shown above each tab until the user hides it.
import { useState } from 'react';

type StepName = 'Data' | 'Train' | 'Compare' | 'Export';

const NOTES: Record<StepName, { title: string; text: string }> = {
  Data: {
    title: '1. Curate',
    text: 'Instruction tuning shows a pretrained model many requests paired with the answers you want. '
      + 'The model already knows language and facts; these examples teach it the task format. Fix, flag and '
      + 'de-duplicate them here: it learns whatever the data shows, mistakes included.',
  },
  Train: {
    title: '2. Train',
    text: 'LoRA trains a small adapter beside the frozen base weights. The loss counts only the assistant\'s '
      + 'tokens and its end-of-turn token, so the model learns to answer and to stop, not to imitate the user. '
      + 'The quick preset is enough to see the change on the built-in model.',
  },
  Compare: {
    title: '3. Compare',
    text: 'Ask both models the same question. The base model continues text; the tuned one treats the prompt '
      + 'as a request. Tuning does not add knowledge the base lacked: held-out questions about things the '
      + 'training set never mentioned show the format generalising.',
  },
  Export: {
    title: '4. Export',
    text: 'Take the adapter to PEFT, llama.cpp or transformers.js. Instruction tuning teaches the task format; '
      + 'which of two good answers people prefer is the next stage (preference tuning such as DPO): the '
      + 'answers you mark on Compare export as its dataset.',
  },
};

const HIDDEN_KEY = 'sft-studio.guide-hidden';

export function GuidedPath({ step }: { step: StepName }) {
  const [hidden, setHidden] = useState(() => globalThis.localStorage?.getItem(HIDDEN_KEY) === '1');
  const toggle = (h: boolean) => {
    setHidden(h);
    globalThis.localStorage?.setItem(HIDDEN_KEY, h ? '1' : '0');
  };
  if (hidden) {
    return <button type="button" className="guide-show" onClick={() => toggle(false)}>Show the guide</button>;
  }
  const note = NOTES[step];
  return (
    <aside className="guide" aria-label="Guide">
      <strong>{note.title}</strong> <span>{note.text}</span>{' '}
      <button type="button" onClick={() => toggle(true)}>Hide the guide</button>
    </aside>
  );
}
