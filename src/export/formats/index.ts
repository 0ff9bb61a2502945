// Export formats: the registry. Each format is one file here (its label and line, dtypes, needs, model card
// text and build); adding one is that file, a line below and its check in the runtime users load it with
// (tests/node/export-*). the engine's exportModel (the Export tab and `studio export`), the model card and the Export tab
// all read this record and use its keys as the formats' names. A build that needs the weights imports its
// writer when called: the page reads the descriptors (the Export tab, the card) but never makes those exports,
// and its bundle leaves the writers out (vite.config.ts).
import type { ExportFormatSpec } from './format';
import { gguf } from './gguf';
import { ggufLora } from './gguf-lora';
import { kit } from './kit';
import { merged } from './merged';
import { onnx } from './onnx';
import { peft } from './peft';

export const EXPORT_FORMATS = {
  peft,
  merged,
  gguf,
  'gguf-lora': ggufLora,
  onnx,
  kit,
} satisfies Record<string, ExportFormatSpec>;

export type ExportFormat = keyof typeof EXPORT_FORMATS;

export const EXPORT_FORMAT_IDS = Object.keys(EXPORT_FORMATS) as ExportFormat[];

/** `name` as a format, or one line listing the formats. `flag` names the option in the message. */
export function exportFormat(name: string, flag = 'format'): ExportFormat {
  if (Object.hasOwn(EXPORT_FORMATS, name)) return name as ExportFormat;
  throw new Error(`${flag} must be one of ${EXPORT_FORMAT_IDS.join(', ')}, not ${name}`);
}

export { pickDtype, type ExportFormatSpec, type ExportInput } from './format';
