// The one conversation form every importer normalises to, and every later stage (tokenization, training,
// evaluation, export) reads. Data flows one way: file → records → Conversation → tokenized examples → batches.
import type { ChatMessage } from '../tokenize/chat';

/** A message is the chat template's (src/tokenize/chat.ts, a lower layer); the stages above name it from here. */
export type { ChatMessage, Role } from '../tokenize/chat';

/** Where a record came from, so errors and the table can name its file and line (1-based). */
interface SourceRef {
  file: string;
  line: number;
}

export interface Conversation {
  id: string;
  messages: ChatMessage[];
  source: SourceRef;
}
