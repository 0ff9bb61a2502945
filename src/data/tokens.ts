// Token statistics and the training preview, with the chosen model's tokenizer and chat template
// (src/tokenize). Framework-free: runs in the data worker, and in Node tests.
//   tokenStats: per example, the full token length as training would see it (template applied), how many
//     tokens a maxSeqLen cut removes, and the trainable tokens (loss-mask ones) that remain; totals.
//   previewTokens: one example's tokens with their text and whether the loss counts them; tokens past
//     maxSeqLen are marked cut. A preference pair is previewed as two calls, prompt + chosen and prompt +
//     rejected, each with answerFrom = the prompt's length (the preference loss counts the answer only).
// Examples the template cannot render (e.g. a template that insists on alternating roles) are reported
// per example, not thrown.
import { ChatTemplate } from '../tokenize/chat';
import { tokenizeConversation } from '../tokenize/loss-mask';
import { loadTokenizer, type Tokenizer } from '../tokenize/tokenizer';
import type { ChatMessage, Conversation } from './types';

/** A tokenizer as it travels: the engine worker hands the loaded model's to the page, the page to the data worker. */
export interface TokenizerFiles {
  /** Where it comes from, for the user: the model's name, or the picked files' names. */
  name: string;
  /** tokenizer.json, as text. */
  tokenizerJson: string;
  /** tokenizer_config.json, as text (carries the chat template); null (or empty) when there is none. */
  tokenizerConfig: string | null;
}

export interface TokenizerInfo {
  vocabSize: number;
  /** False when the config has no chat_template and the plain fallback template is used. */
  hasTemplate: boolean;
  endOfTurn: string;
}

export interface LoadedTokenizer {
  tok: Tokenizer;
  template: ChatTemplate;
  info: TokenizerInfo;
}

export interface TokenOptions {
  maxSeqLen: number;
  assistantOnly: boolean;
  /** A preference answer's preview: only assistant turns from this message index count (the preference loss's mask). */
  answerFrom?: number;
}

export interface TokenStats {
  /** [record id, full token length before any cut] */
  lengths: [string, number][];
  /** Sum of loss-mask ones after cutting at maxSeqLen. */
  trainable: number;
  /** Sum of tokens after cutting at maxSeqLen. */
  total: number;
  /** Tokens removed by the cut, over all examples. */
  cut: number;
  failures: { id: string; reason: string }[];
}

export interface PreviewToken {
  id: number;
  text: string;
  target: boolean;
  cut: boolean;
}

export async function loadTokenizerFiles(files: TokenizerFiles): Promise<LoadedTokenizer> {
  const json = JSON.parse(files.tokenizerJson) as unknown;
  const config = files.tokenizerConfig?.trim() ? JSON.parse(files.tokenizerConfig) as unknown : {};
  const tok = await loadTokenizer(json, config);
  const template = ChatTemplate.fromTokenizerConfig(config);
  return { tok, template, info: { vocabSize: tok.vocabSize, hasTemplate: !template.isFallback, endOfTurn: template.endOfTurn } };
}

export function tokenStats(
  lt: LoadedTokenizer, records: readonly Pick<Conversation, 'id' | 'messages'>[], opts: TokenOptions,
  onProgress?: (fraction: number) => void,
): TokenStats {
  const out: TokenStats = { lengths: [], trainable: 0, total: 0, cut: 0, failures: [] };
  records.forEach((r, i) => {
    try {
      const t = tokenizeConversation(lt.tok, lt.template, r.messages, { assistantOnly: opts.assistantOnly, maxLength: opts.maxSeqLen });
      out.lengths.push([r.id, t.inputIds.length + t.truncated]);
      out.total += t.inputIds.length;
      out.cut += t.truncated;
      for (const m of t.lossMask) out.trainable += m;
    } catch (e) {
      out.failures.push({ id: r.id, reason: (e as Error).message });
    }
    if ((i & 255) === 0) onProgress?.(i / records.length);
  });
  onProgress?.(1);
  return out;
}

export function previewTokens(lt: LoadedTokenizer, messages: ChatMessage[], opts: TokenOptions): PreviewToken[] {
  const t = tokenizeConversation(lt.tok, lt.template, messages, { assistantOnly: opts.assistantOnly || opts.answerFrom !== undefined, answerFrom: opts.answerFrom });
  return t.inputIds.map((id, i) => ({ id, text: lt.tok.decode([id]), target: t.lossMask[i] === 1, cut: i >= opts.maxSeqLen }));
}
