// The common instruction-data shapes and how each becomes the one conversation form (types.ts):
//   messages          {messages: [{role, content}]}                (OpenAI / HF chat, multi-turn)
//   sharegpt          {conversations: [{from, value}]}, from ∈ human/gpt/system (and role/content)
//   alpaca            {instruction, input?, output}  → user = instruction (+ "\n\n" + input)
//   prompt-completion {prompt, completion} (or {prompt, response})
//   text              {text}                          → one assistant turn (trained on whole)
//   mapped            any columns, via a user's ColumnMap
// detectShape looks at a sample and says how sure it is; normaliseRow turns one row into messages or says
// exactly why it cannot. Neither throws. Nothing here knows about files or formats.
import type { ChatMessage, Role } from './types';
import type { ColumnMap, ShapeName } from './record';
import { MAX_JSON_DEPTH, nestsDeeperThan, type Row } from './formats/rows';

type Normalised = { ok: true; messages: ChatMessage[] } | { ok: false; reason: string };

/** The fields each shape reads; anything else in a row is an "unknown field" (kept, reported once). */
const SHAPE_FIELDS: Record<Exclude<ShapeName, 'mapped'>, readonly string[]> = {
  messages: ['messages', 'id'],
  sharegpt: ['conversations', 'system', 'id'],
  alpaca: ['instruction', 'input', 'output', 'system', 'id'],
  'prompt-completion': ['prompt', 'completion', 'response', 'system', 'id'],
  text: ['text', 'id'],
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
export function toShape(messages: readonly ChatMessage[], shape: ShapeName, original: Row, map?: ColumnMap): Row {
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
