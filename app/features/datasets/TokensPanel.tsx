// Token statistics with the chosen model's tokenizer, and one example exactly as training sees it.
// By default the tokenizer (and chat template) of the model loaded in the studio, taken over when the
// model loads (app/store/index.ts); picking a tokenizer.json and tokenizer_config.json overrides it
// until the user goes back or another model loads. Tokenizing runs in the data worker. Shows a length histogram against the max sequence length, total trainable
// tokens, and — for the example chosen with a row's "Tokens" button — every token coloured by whether the
// loss counts it (assistant-only by default; a switch trains on the whole sequence). Token text is
// rendered as text.
import { datasetsSelectors as sel, useDatasets } from '../../store';
import type { PreviewToken, TokenStats } from '../../../src/data/tokens';
import { Token } from '../../components/Token';

const BINS = 24;

function Histogram({ stats, maxSeqLen }: { stats: TokenStats; maxSeqLen: number }) {
  const lengths = stats.lengths.map(([, n]) => n);
  if (!lengths.length) return null;
  let longest = 0;
  for (const n of lengths) if (n > longest) longest = n;
  const top = Math.max(maxSeqLen * 1.25, longest) + 1;
  const width = top / BINS;
  const counts = new Array<number>(BINS).fill(0);
  for (const n of lengths) counts[Math.min(BINS - 1, Math.floor(n / width))]++;
  const peak = Math.max(...counts);
  const over = lengths.filter((n) => n > maxSeqLen).length;
  const sorted = Float64Array.from(lengths).sort();
  const median = sorted[Math.floor(sorted.length / 2)];
  return (
    <figure>
      <div className="histogram" role="img" aria-label={`Token length histogram: ${lengths.length} examples, median ${median} tokens, longest ${sorted[sorted.length - 1]}, ${over} longer than ${maxSeqLen}`}>
        {counts.map((c, i) => (
          <div key={i} className={(i + 1) * width > maxSeqLen ? 'bar over' : 'bar'} style={{ height: `${(100 * c) / peak}%` }} title={`${Math.round(i * width)}–${Math.round((i + 1) * width)} tokens: ${c}`} />
        ))}
      </div>
      <figcaption>Example lengths in tokens (0–{Math.round(top)}); red bins are past the max sequence length {maxSeqLen}.</figcaption>
    </figure>
  );
}

/** One token sequence and its counts; `label` names a pair's side (Chosen / Rejected). */
function TokenRun({ label, tokens }: { label?: string; tokens: PreviewToken[] }) {
  const cut = tokens.filter((t) => t.cut).length;
  return (
    <>
      <p role="status">
        {label ? `${label}: ` : ''}{tokens.length} tokens, {tokens.filter((t) => t.target && !t.cut).length} trained on
        {cut ? `, ${cut} cut by the max sequence length` : ''}
      </p>
      <div className="token-preview" role="group" aria-label={label ? `${label} tokens` : 'Tokens'}>{tokens.map((t, i) => <Token key={i} t={t} />)}</div>
    </>
  );
}

export function TokensPanel() {
  const tokenizer = useDatasets((s) => s.tokenizer);
  const modelTokenizer = useDatasets((s) => s.modelTokenizer);
  const countWithModelTokenizer = useDatasets((s) => s.countWithModelTokenizer);
  const stats = useDatasets((s) => s.tokenStats);
  const maxSeqLen = useDatasets((s) => s.quality.maxSeqLen);
  const assistantOnly = useDatasets((s) => s.assistantOnly);
  const preview = useDatasets((s) => s.preview);
  const loadTokenizer = useDatasets((s) => s.loadTokenizer);
  const computeTokenStats = useDatasets((s) => s.computeTokenStats);
  const setAssistantOnly = useDatasets((s) => s.setAssistantOnly);
  const byId = useDatasets(sel.recordById);
  const previewRec = preview ? byId.get(preview.id) : undefined;
  const over = stats ? stats.lengths.filter(([, n]) => n > maxSeqLen).length : 0;
  return (
    <section aria-labelledby="tokens-heading" className="panel">
      <h2 id="tokens-heading">Tokens</h2>
      <label>
        Tokenizer files (tokenizer.json, tokenizer_config.json)
        <input type="file" multiple accept=".json" onChange={(e) => { const f = [...(e.target.files ?? [])]; e.target.value = ''; if (f.length) void loadTokenizer(f); }} />
      </label>
      {tokenizer?.origin === 'files' && modelTokenizer && (
        <button type="button" onClick={() => void countWithModelTokenizer()}>Use the tokenizer of {modelTokenizer}</button>
      )}
      {!tokenizer ? <p className="hint">Load a model (Train tab) to count tokens with its tokenizer, or pick a tokenizer's files to count tokens exactly and preview training examples.</p> : (
        <>
          <p>
            {tokenizer.origin === 'model' ? `Tokenizer of the loaded model: ${tokenizer.name}` : `Tokenizer from picked files: ${tokenizer.name}`}
            {' '}· vocabulary {tokenizer.info.vocabSize} ·{' '}
            {tokenizer.info.hasTemplate ? 'model chat template' : 'no chat template in the config: plain “### User/Assistant” fallback'}
          </p>
          <div className="row">
            <label><input type="checkbox" checked={assistantOnly} onChange={(e) => setAssistantOnly(e.target.checked)} /> Train on assistant turns only</label>
            <button type="button" onClick={() => void computeTokenStats()}>Recompute token statistics</button>
          </div>
        </>
      )}
      {stats && (
        <>
          <dl className="token-stats" aria-label="Token statistics">
            <dt>Total trainable tokens</dt><dd>{stats.trainable.toLocaleString('en-US')}</dd>
            <dt>Tokens after the cut at {maxSeqLen}</dt><dd>{stats.total.toLocaleString('en-US')}</dd>
            <dt>Examples longer than {maxSeqLen}</dt><dd>{over} ({stats.cut.toLocaleString('en-US')} tokens cut)</dd>
          </dl>
          {stats.failures.length > 0 && <p role="note">{stats.failures.length} examples could not be rendered by the chat template: {stats.failures[0].reason}</p>}
          <Histogram stats={stats} maxSeqLen={maxSeqLen} />
        </>
      )}
      {preview && previewRec && (
        <div role="region" aria-label="Training preview">
          <h3>As training sees {previewRec.source.file} line {previewRec.source.line}</h3>
          {preview.rev !== previewRec.rev && <p role="note">Row edited since: press its Tokens button again.</p>}
          <p className="hint">
            Green: the loss counts the token. Grey: context only. Struck through: cut.
            {preview.rejected ? ' A preference pair: the preference loss counts each answer after the shared prompt.' : ''}
          </p>
          {preview.rejected ? (
            <>
              <TokenRun label="Chosen" tokens={preview.tokens} />
              <TokenRun label="Rejected" tokens={preview.rejected} />
            </>
          ) : <TokenRun tokens={preview.tokens} />}
        </div>
      )}
    </section>
  );
}
