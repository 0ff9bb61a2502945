// The Ollama hand-off: a Modelfile beside the GGUF files (`ollama create NAME -f Modelfile`, `ollama run NAME`).
//   FROM ./model-f16.gguf            (or the base GGUF, with ADAPTER ./adapter-f32.gguf for the GGUF LoRA)
//   TEMPLATE """…"""                 Go text/template over Ollama's .Messages, rendering the chat template's prompt
//   PARAMETER stop "…"               one per end-of-turn / stop token text, so Ollama stops where the studio stops
//   PARAMETER temperature … / top_p / top_k / repeat_penalty / num_ctx   generation_config.json's defaults
//
// The Jinja chat template cannot be translated in general, so it is measured: rendered on probe conversations,
// the text between consecutive messages depends only on the pair of roles (start → system, start → user,
// system → user, user → assistant, assistant → user, user → generation prompt). That covers ChatML (Qwen,
// SmolLM, the built-in model), Llama 3 and Gemma (whose system text joins the first user turn). A template
// whose probes disagree with that model (e.g. renders depending on position beyond the previous role) is
// refused with a message rather than written wrong. Jinja filters on the content (Llama 3's and Gemma's `trim`)
// have no Ollama counterpart: contents are passed as written.
// Not here: the GGUF files (gguf-model.ts, gguf.ts), the model card's instructions (formats/gguf*.ts, card.ts).
import type { ChatTemplate } from '../tokenize/chat';

const PROBE = { system: 'Q7sysQ7', user1: 'Q7u1Q7', assistant: 'Q7a1Q7', user2: 'Q7u2Q7' };
type Role = 'system' | 'user' | 'assistant';
type From = 'start' | Role;

/** The text the template puts between two messages, by (previous role → role); 'gen' is the generation prompt. */
type Transitions = { from: From; to: Role | 'gen'; text: string }[];

/** The texts between the probe contents of a rendering, in order ([before first, between…, after last]). */
function gaps(text: string, contents: string[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (const c of contents) {
    const i = text.indexOf(c, at);
    if (i < 0) throw new Error(`chat template: the probe message ${c} does not appear in its rendering`);
    out.push(text.slice(at, i));
    at = i + c.length;
  }
  out.push(text.slice(at));
  return out;
}

/** The template's transitions, measured on probe conversations and cross-checked on a longer one. */
function chatTransitions(template: ChatTemplate): Transitions {
  const { system: S, user1: U1, assistant: A, user2: U2 } = PROBE;
  const render = (msgs: [Role, string][]): string => template.render(msgs.map(([role, content]) => ({ role, content })), { addGenerationPrompt: true });
  const [startUser, userGen] = gaps(render([['user', U1]]), [U1]);
  const [, userAssistant, assistantUser, userGen2] = gaps(render([['user', U1], ['assistant', A], ['user', U2]]), [U1, A, U2]);
  const t: Transitions = [
    { from: 'start', to: 'user', text: startUser }, { from: 'user', to: 'assistant', text: userAssistant },
    { from: 'assistant', to: 'user', text: assistantUser }, { from: 'user', to: 'gen', text: userGen },
  ];
  let system = true;
  let withSystem: string[] = [];
  try { withSystem = gaps(render([['system', S], ['user', U1], ['assistant', A], ['user', U2]]), [S, U1, A, U2]); } catch { system = false; }
  if (system) t.push({ from: 'start', to: 'system', text: withSystem[0] }, { from: 'system', to: 'user', text: withSystem[1] });
  const disagree = userGen2 !== userGen || (system && (withSystem[2] !== userAssistant || withSystem[3] !== assistantUser || withSystem[4] !== userGen));
  if (disagree) throw new Error('chat template: its turns depend on more than the previous role; no Ollama TEMPLATE is written for it');
  return t;
}

/** Go text/template literal text: '{{' would open an action. */
const goText = (s: string): string => s.replace(/\{\{/g, '{{ "{{" }}');

/**
 * The Go template for Ollama: walks .Messages keeping the previous role, writes each transition's text before a
 * message's content, and the generation prompt after a final user message. `dropLeading`: text to strip from
 * the start (the BOS token's text when the GGUF makes Ollama add BOS itself).
 */
export function ollamaTemplate(template: ChatTemplate, opts: { dropLeading?: string } = {}): string {
  const t = chatTransitions(template).map((x) => (x.from === 'start' && opts.dropLeading && x.text.startsWith(opts.dropLeading) ? { ...x, text: x.text.slice(opts.dropLeading.length) } : x));
  const into = t.filter((x) => x.to !== 'gen');
  const cases = into.map((x, i) => `{{ ${i === 0 ? 'if' : 'else if'} and (eq $prev "${x.from}") (eq .Role "${x.to}") }}${goText(x.text)}`).join('');
  const gen = t.find((x) => x.to === 'gen')!;
  return `{{ $prev := "start" }}{{ range .Messages }}${cases}{{ end }}{{ .Content }}{{ $prev = .Role }}{{ end }}{{ if eq $prev "user" }}${goText(gen.text)}{{ end }}`;
}

interface ModelfileInput {
  /** The GGUF file, relative to the Modelfile ('./model-f16.gguf'). */
  from: string;
  /** The GGUF LoRA, for a base model in FROM. */
  adapter?: string;
  template: ChatTemplate;
  /** Texts that end generation (the end-of-turn and stop tokens). */
  stops: string[];
  /** Parsed generation_config.json (sampling defaults), if any. */
  generationConfig?: unknown;
  contextLength: number;
  /** Leading text the runtime adds itself (the BOS token when the GGUF's add_bos_token is true). */
  dropLeading?: string;
}

/** The sampling PARAMETERs from generation_config.json: temperature (0 when do_sample is false), top_p, top_k, repeat_penalty. */
function samplingParameters(gen: unknown): [string, number][] {
  const g = (gen && typeof gen === 'object' ? gen : {}) as Record<string, unknown>;
  const num = (k: string): number | null => (typeof g[k] === 'number' && Number.isFinite(g[k]) ? (g[k] as number) : null);
  const out: [string, number][] = [];
  const temperature = g.do_sample === false ? 0 : num('temperature');
  if (temperature !== null) out.push(['temperature', temperature]);
  for (const [hf, ollama] of [['top_p', 'top_p'], ['top_k', 'top_k'], ['repetition_penalty', 'repeat_penalty']] as const) {
    const v = num(hf);
    if (v !== null) out.push([ollama, v]);
  }
  return out;
}

export function ollamaModelfile(input: ModelfileInput): string {
  const template = ollamaTemplate(input.template, { dropLeading: input.dropLeading });
  if (template.includes('"""')) throw new Error('Modelfile: the chat template contains """ and cannot be quoted');
  const stops = [...new Set(input.stops.filter((s) => s !== ''))];
  return [
    '# Ollama: ollama create NAME -f Modelfile && ollama run NAME',
    `FROM ${input.from}`,
    ...(input.adapter ? [`ADAPTER ${input.adapter}`] : []),
    `TEMPLATE """${template}"""`,
    ...stops.map((s) => `PARAMETER stop ${JSON.stringify(s)}`),
    ...samplingParameters(input.generationConfig).map(([k, v]) => `PARAMETER ${k} ${v}`),
    `PARAMETER num_ctx ${input.contextLength}`,
    '',
  ].join('\n');
}
