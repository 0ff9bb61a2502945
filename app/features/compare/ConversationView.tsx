// Compare's conversation mode (loaded when first chosen): the user's turns are shared, and every model in Compare's
// list answers each turn in its own column, streaming, with Compare's sampling settings. Before the first turn: which
// history each model sees (shared, the default, or its own answers) and an optional system message. Per turn: mark
// the better answer (a preference pair against each other answer; in the shared history it is also what the next
// turn continues from) or edit the picked answer. The conversation is stored after every turn and mark (a saved
// one is picked from the list, or deleted), and downloads as SFT rows (messages JSONL: one model's answers or the
// pick per turn) and as TRL preference pairs (the conversation so far as the prompt). All text is text, never HTML.
import { useEffect, useState } from 'react';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { download } from '../../components/download';
import { conversationJsonl, conversationMessages, conversationPairs, referenceOf } from '../../../src/eval/conversation';
import { preferenceJsonl } from '../../../src/eval/export';
import { AnswerStats } from './AnswerStats';
import { appChatStore, useChat, type ChatSetup } from './chat-store';

const HISTORY_HELP = {
  shared: 'Every model answers the same conversation: your turns, and for earlier turns the picked answer (your edit, else the one marked better, else the first model\'s). Each turn then compares the models on the same prompt, and marked pairs and the picked rows are consistent training data. This is the default.',
  own: 'Each model continues its own conversation, with its own earlier answers, as someone using that model would see it: a model that drifts carries its drift. A marked pair\'s prompt is then the better model\'s conversation, which the other answer did not see.',
};

/** A file name from a label: letters, digits, dots and dashes. */
const slug = (s: string) => s.replace(/[^\p{L}\p{N}.-]+/gu, '-').replace(/^-|-$/g, '').slice(0, 60) || 'conversation';

export function ConversationView({ setup, busy, onBusyChange }: {
  /** Compare's columns and sampling and the loaded model (null: no model loaded). */
  setup: ChatSetup | null;
  /** Something else on Compare is asking the engine. */
  busy: boolean;
  onBusyChange: (generating: boolean) => void;
}) {
  const s = appChatStore();
  const c = useChat((x) => x.conversation);
  const stored = useChat((x) => x.stored);
  const generating = useChat((x) => x.generating);
  const history = useChat((x) => x.history);
  const system = useChat((x) => x.system);
  const error = useChat((x) => x.error);
  const [message, setMessage] = useState('');
  const [sftFrom, setSftFrom] = useState('pick');
  const [draft, setDraft] = useState<string | null>(null);

  useEffect(() => { void s.getState().refresh(); }, [s]);
  useEffect(() => { onBusyChange(generating); }, [generating, onBusyChange]);
  useEffect(() => () => onBusyChange(false), [onBusyChange]);

  const pairs = c ? conversationPairs(c) : [];
  const last = c ? c.turns.length - 1 : -1;
  const canSend = !!setup && setup.columns.length > 0 && !busy && !generating && message.trim().length > 0;
  const labelOf = (id: string) => c?.columns.find((x) => x.id === id)?.label ?? id;

  return (
    <section className="panel conversation" aria-labelledby="conversation-heading">
      <div className="conversation-head">
        <h3 id="conversation-heading">Conversation</h3>
        <div className="row">
          <label>
            Saved conversations
            <select value={c && stored.some((x) => x.id === c.id) ? c.id : ''} disabled={generating} onChange={(e) => (e.target.value ? s.getState().open(e.target.value) : s.getState().startNew())}>
              <option value="">{stored.length ? 'A new conversation' : 'None saved yet'}</option>
              {stored.map((x) => <option key={x.id} value={x.id}>{x.title} ({x.turns.length} {x.turns.length === 1 ? 'turn' : 'turns'})</option>)}
            </select>
          </label>
          <button type="button" disabled={generating || !c} onClick={() => s.getState().startNew()}>New conversation</button>
          {c ? (
            <ConfirmDialog
              trigger={<button type="button" className="danger" disabled={generating}>Delete conversation</button>}
              title="Delete this conversation?" description={`“${c.title.slice(0, 80)}” and its ${c.turns.length} turns and marks are deleted. This cannot be undone.`}
              confirmLabel="Delete" onConfirm={() => void s.getState().remove(c.id)}
            />
          ) : null}
        </div>
      </div>
      {error ? <Alert message={error} onDismiss={() => s.getState().dismissError()} /> : null}

      {!c ? (
        <div className="conversation-setup">
          <fieldset>
            <legend>History each model sees</legend>
            <label><input type="radio" name="chat-history" checked={history === 'shared'} onChange={() => s.getState().setHistory('shared')} aria-describedby="history-help" />Shared: the picked answers (default)</label>
            <label><input type="radio" name="chat-history" checked={history === 'own'} onChange={() => s.getState().setHistory('own')} aria-describedby="history-help" />Each model's own answers</label>
            <p className="help" id="history-help">{HISTORY_HELP[history]}</p>
          </fieldset>
          <label className="wide">
            System message (optional)
            <textarea rows={2} value={system} onChange={(e) => s.getState().setSystem(e.target.value)} />
          </label>
          <p className="help">
            {setup && setup.columns.length ? `Answering: ${setup.columns.map((x) => x.label).join(', ')}. ` : 'Load a model and choose the answering models below. '}
            The models and the sampling settings are kept for the whole conversation; every turn goes through each model's chat template.
            When the conversation outgrows a model's context, its earliest turns are left out of what that model sees (the answer says so).
          </p>
        </div>
      ) : (
        <p className="help">
          {c.history === 'shared' ? 'Shared history (the picked answers)' : 'Each model sees its own answers'} · {c.columns.map((x) => x.label).join(', ')}
          {' '}· {c.sampling.temperature === 0 ? 'greedy' : `temperature ${c.sampling.temperature}`}, up to {c.sampling.maxNewTokens} new tokens
          {c.system ? <> · system: “{c.system}”</> : null}
        </p>
      )}

      {c && c.turns.length ? (
        <ol className="turns" aria-label="Turns">
          {c.turns.map((turn, t) => {
            const picked = referenceOf(c, t);
            // The pick is shown on the first answer that reads as it, or apart when it is the user's own text.
            const pickedColumn = picked === null ? undefined : c.columns.find((col) => { const a = turn.answers[col.id]; return a?.done && !a.error && a.text === picked; })?.id;
            return (
              <li key={t} className="turn">
                <p className="user-turn"><span className="who">You</span>{turn.user}</p>
                <div className="answer-grid" role="group" aria-label={`Answers to turn ${t + 1}`} tabIndex={0}>
                  {c.columns.map((col) => {
                    const a = turn.answers[col.id];
                    if (!a) return null;
                    const name = `Turn ${t + 1}, answer from ${col.label}`;
                    const isPick = col.id === pickedColumn;
                    return (
                      <article key={col.id} aria-label={name} className={isPick ? 'answer picked' : 'answer'} aria-busy={!a.done}>
                        <h4>{col.label}{isPick ? <span className="tag"> · picked</span> : null}</h4>
                        <p className="answer-text" aria-live="polite">{a.text}</p>
                        {a.note ? <p role="note" className="answer-stats">Note: {a.note}</p> : null}
                        <AnswerStats answer={a} label={name} />
                        <button
                          type="button" aria-pressed={turn.better === col.id} aria-label={`Turn ${t + 1}: ${col.label} is better`}
                          disabled={generating || !a.done || a.error !== null} onClick={() => void s.getState().markBetter(t, turn.better === col.id ? null : col.id)}
                        >
                          Better
                        </button>
                      </article>
                    );
                  })}
                </div>
                {picked !== null && pickedColumn === undefined ? (
                  <p className="picked-text"><span className="who">Picked: your answer</span>{picked}</p>
                ) : null}
                {t === last && !generating ? (
                  <details className="edit-pick" onToggle={(e) => { if ((e.target as HTMLDetailsElement).open) setDraft(picked ?? ''); }}>
                    <summary>Edit the picked answer to turn {t + 1}</summary>
                    <label className="wide">
                      Your answer to turn {t + 1}
                      <textarea rows={3} value={draft ?? picked ?? ''} onChange={(e) => setDraft(e.target.value)} />
                    </label>
                    <div className="row">
                      <button type="button" disabled={!draft?.trim()} onClick={() => void s.getState().edit(t, draft!)}>Use my answer</button>
                      {turn.edited !== null ? <button type="button" onClick={() => { setDraft(null); void s.getState().edit(t, null); }}>Use the models' answer</button> : null}
                    </div>
                  </details>
                ) : null}
              </li>
            );
          })}
        </ol>
      ) : null}

      <form className="composer" onSubmit={(e) => { e.preventDefault(); if (canSend && setup) { void s.getState().send(message, setup); setMessage(''); setDraft(null); } }}>
        <label className="wide">
          Your message
          <textarea rows={2} value={message} onChange={(e) => setMessage(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={!canSend}>{generating ? 'Answering…' : 'Send'}</button>
      </form>

      {c && c.turns.length ? (
        <div className="row conversation-exports">
          <label>
            SFT rows from
            <select value={sftFrom} onChange={(e) => setSftFrom(e.target.value)}>
              <option value="pick">Your pick per turn</option>
              {c.columns.map((x) => <option key={x.id} value={x.id}>{x.label}</option>)}
            </select>
          </label>
          <button type="button" disabled={generating} onClick={() => download(`${slug(c.title)}-${slug(sftFrom === 'pick' ? 'pick' : labelOf(sftFrom))}.jsonl`, conversationJsonl([conversationMessages(c, sftFrom)]), 'application/jsonl')}>
            Download as SFT JSONL
          </button>
          <button type="button" disabled={generating || pairs.length === 0} onClick={() => download(`${slug(c.title)}-pairs.jsonl`, preferenceJsonl(pairs), 'application/jsonl')}>
            Download preference pairs
          </button>
          <span role="status" aria-label="Marked turns">
            {c.turns.filter((x) => x.better !== null).length} of {c.turns.length} turns marked: {pairs.length} {pairs.length === 1 ? 'pair' : 'pairs'}
          </span>
        </div>
      ) : null}
    </section>
  );
}
