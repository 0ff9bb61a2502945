// The one conversation form every importer normalises to, and every later stage (tokenization, training,
// evaluation, export) reads. Data flows one way: file → records → Conversation → tokenized examples → batches.

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

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
