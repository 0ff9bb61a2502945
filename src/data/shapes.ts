// The common instruction-data shapes and how each becomes the one conversation form (types.ts):
//   messages          {messages: [{role, content}]}                (OpenAI / HF chat, multi-turn)
//   sharegpt          {conversations: [{from, value}]}, from ∈ human/gpt/system (and role/content)
//   alpaca            {instruction, input?, output}  → user = instruction (+ "\n\n" + input)
//   prompt-completion {prompt, completion} (or {prompt, response})
//   text              {text}                          → one assistant turn (trained on whole)
//   mapped            any columns, via a user's ColumnMap
// Preference pairs (the record keeps the prompt + chosen answer as `messages`, the rejected answer apart):
//   preference          {prompt, chosen, rejected}, each a string or messages (TRL's explicit prompt; the
//                       Compare screen's marks export is this form)
//   preference-implicit {chosen, rejected}: whole conversations sharing the prompt (TRL's implicit prompt)
//   hh-rlhf             {chosen, rejected}: strings of "\n\nHuman: …\n\nAssistant: …" turns (Anthropic HH)
// For the implicit forms the prompt is the longest shared run of whole turns, cut back to before the answer.
// detectShape looks at a sample and says how sure it is; normaliseRow turns one row into messages or says
// exactly why it cannot. Neither throws. Nothing here knows about files or formats.
import type { ChatMessage, Role } from './types';
import { preferenceParts, type ColumnMap, type DatasetRecord, type PreferenceParts, type ShapeName } from './record';
import { MAX_JSON_DEPTH, nestsDeeperThan, type Row } from './formats/rows';

type Normalised = { ok: true; messages: ChatMessage[]; rejected?: ChatMessage[] } | { ok: false; reason: string };

/** The fields each shape reads; anything else in a row is an "unknown field" (kept, reported once). */
const SHAPE_FIELDS: Record<Exclude<ShapeName, 'mapped'>, readonly string[]> = {
  messages: ['messages', 'id'],
  sharegpt: ['conversations', 'system', 'id'],
  alpaca: ['instruction', 'input', 'output', 'system', 'id'],
  'prompt-completion': ['prompt', 'completion', 'response', 'system', 'id'],
  text: ['text', 'id'],
  preference: ['prompt', 'chosen', 'rejected', 'id'],
  'preference-implicit': ['chosen', 'rejected', 'id'],
  'hh-rlhf': ['chosen', 'rejected', 'id'],
};

const ROLE_ALIASES: Record<string, Role> = {
  system: 'system', user: 'user', human: 'user', assistant: 'assistant', gpt: 'assistant',
  bot: 'assistant', model: 'assistant', chatgpt: 'assistant',
};

function isRecord(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** CSV cells holding JSON (a messages column exported from pandas) are parsed; other values pass through. */
function maybeJson(v: unknown): unknown {
  if (typeof v === 'string') {
    const t = v.trimStart();
    if ((t.startsWith('[') || t.startsWith('{')) && !nestsDeeperThan(t, MAX_JSON_DEPTH)) {
      try { return JSON.parse(v); } catch { return v; }
    }
  }
  return v;
}

/** Text of a field: strings as-is, numbers/booleans stringified, HF content parts joined; else null. */
function textOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) {
    const parts = v.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : typeof p === 'string' ? p : null));
    if (parts.every((p) => p !== null)) return parts.join('');
  }
  return null;
}

function has(row: Row, key: string): boolean {
  return row[key] !== undefined && row[key] !== null;
}

const MATCHERS: Record<Exclude<ShapeName, 'mapped'>, (r: Row) => boolean> = {
  messages: (r) => Array.isArray(maybeJson(r.messages)),
  sharegpt: (r) => Array.isArray(maybeJson(r.conversations)),
  alpaca: (r) => has(r, 'instruction') && has(r, 'output'),
  'prompt-completion': (r) => has(r, 'prompt') && (has(r, 'completion') || has(r, 'response')),
  text: (r) => typeof r.text === 'string',
  // Preference rows match on `chosen` alone, so a row missing its rejected answer is read and named, not skipped.
  preference: (r) => has(r, 'prompt') && has(r, 'chosen'),
  'preference-implicit': (r) => !has(r, 'prompt') && Array.isArray(maybeJson(r.chosen)),
  'hh-rlhf': (r) => !has(r, 'prompt') && typeof r.chosen === 'string' && HH_TURN.test(r.chosen),
};

interface Detection {
  shape: ShapeName | null;
  /** Share of the sample rows the chosen shape matched. */
  confidence: number;
  columns: string[];
}

/** Below this share of matching sample rows the user is asked to map columns. */
const CONFIDENT = 0.6;

export function columnsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

/** The key a ColumnMap is remembered under: the sorted column names. */
export function columnSignature(columns: readonly string[]): string {
  return [...columns].sort().join('\u0001');
}

export function detectShape(sample: readonly Row[]): Detection {
  const columns = columnsOf(sample);
  if (sample.length === 0) return { shape: null, confidence: 0, columns };
  let best: ShapeName | null = null;
  let bestCount = 0;
  for (const shape of Object.keys(MATCHERS) as Exclude<ShapeName, 'mapped'>[]) {
    let n = 0;
    for (const r of sample) if (MATCHERS[shape](r)) n++;
    if (n > bestCount) { best = shape; bestCount = n; }
  }
  const confidence = bestCount / sample.length;
  return { shape: confidence >= CONFIDENT ? best : null, confidence, columns };
}

function turns(list: unknown, roleKey: string, textKey: string, what: string): Normalised {
  if (!Array.isArray(list)) return { ok: false, reason: `field '${what}' is not a list` };
  if (list.length === 0) return { ok: false, reason: `field '${what}' is empty` };
  const messages: ChatMessage[] = [];
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    if (!isRecord(m)) return { ok: false, reason: `${what}[${i}] is not an object` };
    const rawRole = m[roleKey] ?? m.role ?? m.from;
    const role = typeof rawRole === 'string' ? ROLE_ALIASES[rawRole.toLowerCase()] : undefined;
    if (!role) return { ok: false, reason: `${what}[${i}] has unknown role '${String(rawRole)}'` };
    const content = textOf(m[textKey] ?? m.content ?? m.value);
    if (content === null) return { ok: false, reason: `${what}[${i}] has no text content` };
    messages.push({ role, content });
  }
  return { ok: true, messages };
}

function field(row: Row, key: string): string | null {
  return textOf(row[key]);
}

function missing(key: string): Normalised {
  return { ok: false, reason: `missing field '${key}'` };
}

function withSystem(row: Row, key: string | undefined, rest: ChatMessage[]): ChatMessage[] {
  const sys = key ? field(row, key) : null;
  return sys ? [{ role: 'system', content: sys }, ...rest] : rest;
}

// ---- preference pairs ------------------------------------------------------------------------------

type PreferenceShape = 'preference' | 'preference-implicit' | 'hh-rlhf';

/** An HH turn marker: "Human:" or "Assistant:" opening the text or after a blank line. */
const HH_TURN = /(?:^|\n\n)(Human|Assistant):[ ]?/;
const HH_ROLE: Record<string, Role> = { Human: 'user', Assistant: 'assistant' };
const HH_NAME: Record<Role, string> = { system: 'Human', user: 'Human', assistant: 'Assistant' };

function hhTurns(v: unknown, what: string): Normalised {
  if (typeof v !== 'string') return { ok: false, reason: `field '${what}' is not a string` };
  const parts = v.split(new RegExp(HH_TURN.source, 'g')); // [before, role, text, role, text, …]
  if (parts.length < 3) return { ok: false, reason: `field '${what}' has no "Human:" / "Assistant:" turns` };
  if (parts[0].trim()) return { ok: false, reason: `field '${what}' has text before its first "Human:" turn` };
  const messages: ChatMessage[] = [];
  for (let i = 1; i < parts.length; i += 2) messages.push({ role: HH_ROLE[parts[i]], content: parts[i + 1] });
  return { ok: true, messages };
}

/** HH's string form of turns (what hhTurns reads back). */
function hhText(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `\n\n${HH_NAME[m.role]}: ${m.content}`).join('');
}

/** A TRL field: a string (one turn of `role`) or a list of messages. */
function stringOrTurns(v: unknown, what: string, role: Role): Normalised {
  const x = maybeJson(v);
  return typeof x === 'string' ? { ok: true, messages: [{ role, content: x }] } : turns(x, 'role', 'content', what);
}

function sameTurns(a: readonly ChatMessage[], b: readonly ChatMessage[]): boolean {
  return a.length === b.length && a.every((m, i) => m.role === b[i].role && m.content === b[i].content);
}

function preferenceRow(row: Row, shape: PreferenceShape): Normalised {
  if (!has(row, 'chosen')) return missing('chosen');
  if (!has(row, 'rejected')) return { ok: false, reason: "has 'chosen' but no 'rejected'" };
  const read = shape === 'hh-rlhf' ? hhTurns : (v: unknown, what: string) => stringOrTurns(v, what, 'assistant');
  const c = read(row.chosen, 'chosen');
  if (!c.ok) return c;
  const j = read(row.rejected, 'rejected');
  if (!j.ok) return j;
  if (sameTurns(c.messages, j.messages)) return { ok: false, reason: 'chosen and rejected are the same (no preference to learn)' };
  let prompt: ChatMessage[], chosen: ChatMessage[], rejected: ChatMessage[];
  if (shape === 'preference') {
    if (!has(row, 'prompt')) return missing('prompt');
    const p = stringOrTurns(row.prompt, 'prompt', 'user');
    if (!p.ok) return p;
    [prompt, chosen, rejected] = [p.messages, c.messages, j.messages];
  } else {
    // The longest shared run of whole turns, cut back to before the first answer turn.
    const x = c.messages, y = j.messages;
    let k = 0;
    while (k < x.length && k < y.length && x[k].role === y[k].role && x[k].content === y[k].content) k++;
    while (k > 0 && x[k - 1].role === 'assistant' && (x[k]?.role === 'assistant' || y[k]?.role === 'assistant')) k--;
    [prompt, chosen, rejected] = [x.slice(0, k), x.slice(k), y.slice(k)];
    if (prompt.length === 0) return { ok: false, reason: 'chosen and rejected share no prompt (they must start with the same turns)' };
  }
  for (const [name, answer] of [['chosen', chosen], ['rejected', rejected]] as const) {
    if (answer.length === 0 || answer.some((m) => m.role !== 'assistant')) return { ok: false, reason: `${name}: the answer must be assistant messages after the prompt` };
  }
  if (prompt.length === 0 || prompt.at(-1)!.role === 'assistant') return { ok: false, reason: 'prompt: must end with a user or system turn' };
  return { ok: true, messages: [...prompt, ...chosen], rejected };
}

/**
 * One row in any preference form, its shape told by its fields (for readers that take pairs row by row rather than
 * a file with one detected shape): prompt → TRL explicit; chosen a string → HH; otherwise TRL implicit.
 */
export function normalisePreference(row: unknown): Normalised {
  if (!isRecord(row)) return { ok: false, reason: 'expected an object with "chosen" and "rejected"' };
  return preferenceRow(row, has(row, 'prompt') ? 'preference' : typeof maybeJson(row.chosen) === 'string' ? 'hh-rlhf' : 'preference-implicit');
}

/** A pair as TRL's conversational explicit-prompt row (what the Data step exports pairs as). */
export function trlPreferenceRow(pair: PreferenceParts): Row {
  const plain = (ms: readonly ChatMessage[]) => ms.map((m) => ({ role: m.role, content: m.content }));
  return { prompt: plain(pair.prompt), chosen: plain(pair.chosen), rejected: plain(pair.rejected) };
}

export function normaliseRow(row: Row, shape: ShapeName, map?: ColumnMap): Normalised {
  switch (shape) {
    case 'messages':
      return turns(maybeJson(row.messages), 'role', 'content', 'messages');
    case 'sharegpt': {
      const t = turns(maybeJson(row.conversations), 'from', 'value', 'conversations');
      return t.ok && t.messages[0]?.role !== 'system' ? { ok: true, messages: withSystem(row, 'system', t.messages) } : t;
    }
    case 'alpaca': {
      const instruction = field(row, 'instruction');
      if (instruction === null) return missing('instruction');
      const output = field(row, 'output');
      if (output === null) return missing('output');
      const input = field(row, 'input');
      const user = input && input.trim() ? `${instruction}\n\n${input}` : instruction;
      return { ok: true, messages: withSystem(row, 'system', [{ role: 'user', content: user }, { role: 'assistant', content: output }]) };
    }
    case 'prompt-completion': {
      const prompt = field(row, 'prompt');
      if (prompt === null) return missing('prompt');
      const completion = field(row, 'completion') ?? field(row, 'response');
      if (completion === null) return missing('completion');
      return { ok: true, messages: withSystem(row, 'system', [{ role: 'user', content: prompt }, { role: 'assistant', content: completion }]) };
    }
    case 'text': {
      const text = field(row, 'text');
      return text === null ? missing('text') : { ok: true, messages: [{ role: 'assistant', content: text }] };
    }
    case 'preference':
    case 'preference-implicit':
    case 'hh-rlhf':
      return preferenceRow(row, shape);
    case 'mapped': {
      if (!map) return { ok: false, reason: 'no column map' };
      const prompt = field(row, map.prompt);
      if (prompt === null) return missing(map.prompt);
      const response = field(row, map.response);
      if (response === null) return missing(map.response);
      const input = map.input ? field(row, map.input) : null;
      const user = input && input.trim() ? `${prompt}\n\n${input}` : prompt;
      return { ok: true, messages: withSystem(row, map.system, [{ role: 'user', content: user }, { role: 'assistant', content: response }]) };
    }
  }
}

/** Fields present in rows that the shape does not read (named once per file, kept in `original`). */
export function unknownFields(columns: readonly string[], shape: ShapeName, map?: ColumnMap): string[] {
  const known = new Set<string>(shape === 'mapped'
    ? [map?.prompt, map?.response, map?.input, map?.system].filter((x): x is string => !!x)
    : SHAPE_FIELDS[shape]);
  return columns.filter((c) => !known.has(c));
}

/** Rebuilds a row in the source shape from (possibly edited) messages, keeping the row's other fields. */
export function toShape(rec: Pick<DatasetRecord, 'messages' | 'rejected' | 'shape' | 'original'>, map?: ColumnMap): Row {
  const { messages, shape, original } = rec;
  const system = messages.find((m) => m.role === 'system')?.content;
  const user = messages.find((m) => m.role === 'user')?.content ?? '';
  let assistant = '';
  for (const m of messages) if (m.role === 'assistant') assistant = m.content;
  const out: Row = { ...original };
  switch (shape) {
    case 'messages':
      out.messages = messages.map((m) => ({ role: m.role, content: m.content }));
      break;
    case 'sharegpt':
      delete out.system;
      out.conversations = messages.map((m) => ({ from: m.role === 'user' ? 'human' : m.role === 'assistant' ? 'gpt' : 'system', value: m.content }));
      break;
    case 'alpaca':
      out.instruction = user; out.input = ''; out.output = assistant;
      if (system !== undefined) out.system = system;
      break;
    case 'prompt-completion':
      out.prompt = user;
      if ('response' in original && !('completion' in original)) out.response = assistant; else out.completion = assistant;
      if (system !== undefined) out.system = system;
      break;
    case 'text':
      out.text = messages.map((m) => m.content).join('\n');
      break;
    case 'preference':
    case 'preference-implicit':
    case 'hh-rlhf': {
      const pair = preferenceParts(rec);
      if (!pair) break;
      if (shape === 'preference') Object.assign(out, trlPreferenceRow(pair));
      else {
        const chosen = messages, rejected = [...pair.prompt, ...pair.rejected];
        Object.assign(out, shape === 'hh-rlhf'
          ? { chosen: hhText(chosen), rejected: hhText(rejected) }
          : trlPreferenceRow({ prompt: [], chosen, rejected }));
        delete out.prompt;
      }
      break;
    }
    case 'mapped':
      if (map) {
        out[map.prompt] = user; out[map.response] = assistant;
        if (map.input) out[map.input] = '';
        if (map.system && system !== undefined) out[map.system] = system;
      }
      break;
  }
  return out;
}
