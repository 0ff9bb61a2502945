// The rewards of a GRPO run, as the user writes them: built-ins (exact match with the reference, contains, regex,
// length band, ends cleanly) and JavaScript functions (a plain textarea: the code is text, never rendered, and runs
// only in the engine's sandboxed reward worker), each with its weight in the sum the advantages are taken from; and
// the "try it" table: a few prompts, the answers, each reward's value or its error for that answer. Every value a
// user or a function wrote is shown as text.
// Not here: scoring (the engine's previewRewards; src/train/rewards.ts), the state (grpoStore.ts).
import { useId, useState } from 'react';
import type { RewardPreview } from '../../../src/engine/api';
import type { RewardCheck, RewardSpec } from '../../../src/train/rewards';
import { ScrollRegion } from '../../components/ScrollRegion';
import { NumberField } from './ConfigForm';
import { fmt } from './LivePanel';

/** What each kind of reward does, as its group's title says it. */
export const REWARD_KINDS: Record<RewardCheck['kind'], string> = {
  exact: 'Exact match with the reference answer',
  contains: 'Contains a text',
  regex: 'Matches a regular expression',
  length: 'Length band (characters)',
  'ends-cleanly': 'Ends cleanly (stops at the end of its turn)',
  function: 'JavaScript function',
};

function RewardFields({ spec, onChange }: { spec: RewardSpec; onChange: (s: RewardSpec) => void }) {
  const help = useId();
  switch (spec.kind) {
    case 'exact': return <p className="help">1 when the answer equals the row's assistant answer (spaces collapsed), else 0; an error on a row without one.</p>;
    case 'ends-cleanly': return <p className="help">1 when the answer ended its turn before the token limit, else 0.</p>;
    case 'contains':
      return <label>Text <input value={spec.text} onChange={(e) => onChange({ ...spec, text: e.target.value })} /></label>;
    case 'regex':
      return (
        <>
          <label>Pattern <input value={spec.pattern} spellCheck={false} onChange={(e) => onChange({ ...spec, pattern: e.target.value })} /></label>
          <label>Flags <input value={spec.flags ?? ''} size={4} spellCheck={false} onChange={(e) => onChange({ ...spec, flags: e.target.value })} /></label>
        </>
      );
    case 'length':
      return (
        <>
          <NumberField label="Shortest" value={spec.min} onChange={(min) => onChange({ ...spec, min })} />
          <NumberField label="Longest" value={spec.max} onChange={(max) => onChange({ ...spec, max })} />
        </>
      );
    case 'function':
      return (
        <>
          <label>Name <input value={spec.name} spellCheck={false} onChange={(e) => onChange({ ...spec, name: e.target.value })} /></label>
          <label className="reward-code">
            Code (JavaScript module)
            <textarea
              value={spec.source} rows={12} spellCheck={false} autoCapitalize="off" autoCorrect="off" aria-describedby={help}
              onChange={(e) => onChange({ ...spec, source: e.target.value })}
            />
          </label>
          <p className="help" id={help}>
            Its default export receives {'{ prompt, messages, completion, reference }'} and returns a number (or a Promise of one). It runs in a
            sandboxed worker of its own: no imports, network, page or storage, and a time limit per call. Throwing, running past the limit or
            returning anything but a finite number is an error for that answer, shown with it; the run leaves that answer out.
          </p>
        </>
      );
  }
}

export function RewardsEditor({ rewards, onChange, onAdd, onRemove, disabled }: {
  rewards: RewardSpec[];
  onChange: (index: number, spec: RewardSpec) => void;
  onAdd: (kind: RewardCheck['kind']) => void;
  onRemove: (index: number) => void;
  disabled: boolean;
}) {
  const [kind, setKind] = useState<RewardCheck['kind']>('function');
  return (
    <fieldset className="rewards" disabled={disabled}>
      <legend>Rewards</legend>
      <p className="help">Each answer's reward is the weighted sum of these; an answer is judged against the other answers to its prompt.</p>
      {rewards.map((r, i) => (
        <fieldset key={i} className="reward">
          <legend>Reward {i + 1}: {REWARD_KINDS[r.kind]}</legend>
          <RewardFields spec={r} onChange={(s) => onChange(i, s)} />
          <div className="row">
            <NumberField label="Weight" value={r.weight} onChange={(weight) => onChange(i, { ...r, weight })} />
            <button type="button" onClick={() => onRemove(i)} aria-label={`Remove reward ${i + 1}`}>Remove</button>
          </div>
        </fieldset>
      ))}
      <div className="row">
        <select aria-label="Kind of reward to add" value={kind} onChange={(e) => setKind(e.target.value as RewardCheck['kind'])}>
          {(Object.keys(REWARD_KINDS) as RewardCheck['kind'][]).map((k) => <option key={k} value={k}>{REWARD_KINDS[k]}</option>)}
        </select>
        <button type="button" onClick={() => onAdd(kind)}>Add reward</button>
      </div>
    </fieldset>
  );
}

/** How an answer ended, in words. */
export const ENDED = { 'stop-token': 'end of turn', length: 'token limit' } as const;

/** A reward's value as a cell: the number, or its error for this answer. */
export function RewardCell({ value, error }: { value: number | null; error: string | null }) {
  return error !== null ? <td className="reward-error">{error}</td> : <td data-value={value ?? ''}>{fmt(value, 3)}</td>;
}

export function RewardPreviewTable({ preview }: { preview: RewardPreview }) {
  return (
    <ScrollRegion label="Rewards tried on samples">
      <table className="metrics reward-table" aria-label="Rewards on samples">
        <caption>{preview.samples.length} prompts of the train split, one answer each, sampled as the run samples</caption>
        <thead>
          <tr>
            <th scope="col">Prompt</th><th scope="col">Reference</th><th scope="col">Answer</th><th scope="col">Ended</th>
            {preview.names.map((n, k) => <th key={k} scope="col">{n} (× {preview.weights[k]})</th>)}
            <th scope="col">Reward</th>
          </tr>
        </thead>
        <tbody>
          {preview.samples.map((s, i) => (
            <tr key={i}>
              <td className="text">{s.prompt}</td>
              <td className="text">{s.reference ?? '—'}</td>
              <td className="text">{s.completion}</td>
              <td>{ENDED[s.finishReason]}</td>
              {s.values.map((v, k) => <RewardCell key={k} value={v} error={s.errors[k]} />)}
              <td data-value={s.reward ?? ''}>{s.reward === null ? 'unscorable' : fmt(s.reward, 3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
