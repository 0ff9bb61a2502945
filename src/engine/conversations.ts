// The engine's conversations: the next answer of a multi-turn conversation (the model's chat template renders the
// whole history), and the conversations Compare stores with the runs and adapters they compared.
//
// Contract: `chat` takes an optional system message, then user and assistant turns, ending with the user's (anything
// else is refused by name). A long conversation is trimmed, not refused: while the rendered prompt and maxNewTokens do
// not fit the model's context, the earliest user + assistant exchange is left out (the system message and the last
// user turn always stay), and a 'note' event says how many turns were left out and why; the result's `dropped` counts
// them. What is left is answered as `generate` answers (answers.ts): a last turn too long on its own gets fewer new
// tokens with a note, or is refused when it fills the context.
// Not here: which history each column is asked with (src/eval/conversation.ts), streaming to the page (the store).
import type { ChatMessage } from '../data/types';
import type { ModelMeta } from '../io/hf';
import type { EngineMethods, OnEvent } from './api';
import type { EngineContext } from './context';
import { promptIds } from './evaluate';

const noop: OnEvent = () => {};

/** Refuses what is not [system], then user and assistant turns in turn, ending with a user turn. */
function checkTurns(messages: ChatMessage[]): void {
  const turns = messages[0]?.role === 'system' ? messages.slice(1) : messages;
  if (turns.length === 0 || turns.length % 2 === 0) throw new Error('a conversation to answer alternates user and assistant turns and ends with a user turn');
  turns.forEach((m, i) => {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want) throw new Error(`a conversation to answer alternates user and assistant turns: message ${i + 1 + messages.length - turns.length} is ${JSON.stringify(m.role).slice(0, 40)}, not ${want}`);
  });
}

/**
 * The latest exchanges of `messages` (system kept) whose prompt leaves `maxNewTokens` of the model's context, and how
 * many earliest exchanges were left out for it. The last user turn is kept even when it alone does not leave them.
 */
export function fitConversation(m: ModelMeta, messages: ChatMessage[], maxNewTokens: number): { messages: ChatMessage[]; dropped: number; tokens: number } {
  const system = messages[0]?.role === 'system' ? [messages[0]] : [];
  let turns = messages.slice(system.length);
  const budget = m.config.maxPositions - maxNewTokens;
  let dropped = 0;
  for (;;) {
    const kept = [...system, ...turns];
    const tokens = promptIds(m, { kind: 'chat', messages: kept }).length;
    if (tokens <= budget || turns.length === 1) return { messages: kept, dropped, tokens };
    turns = turns.slice(2);
    dropped++;
  }
}

export function conversationCalls(ctx: EngineContext, generate: EngineMethods['generate']): Pick<EngineMethods, 'chat' | 'saveConversation' | 'listConversations' | 'deleteConversation'> {
  return {
    async chat(args, onEvent = noop) {
      checkTurns(args.messages);
      const m = ctx.resident.model().model;
      const fit = fitConversation(m, args.messages, args.sampling.maxNewTokens);
      if (fit.dropped > 0) {
        const total = args.messages.filter((x) => x.role === 'user').length;
        onEvent({ type: 'note', message: `the first ${fit.dropped} of ${total} turns were left out: this model's context of ${m.config.maxPositions} positions holds the last ${total - fit.dropped} (${fit.tokens} tokens) and ${args.sampling.maxNewTokens} new tokens` });
      }
      const r = await generate({ adapter: args.adapter, prompt: { kind: 'chat', messages: fit.messages }, sampling: args.sampling, backend: args.backend }, onEvent);
      return { ...r, dropped: fit.dropped };
    },

    async saveConversation(c) {
      await (await ctx.store()).putConversation(c);
      return null;
    },

    listConversations: async ({ subject }) => (await ctx.store()).listConversations(subject),

    async deleteConversation({ conversationId }) {
      await (await ctx.store()).removeConversation(conversationId);
      return null;
    },
  };
}
