// What every export format is: its name and line for the Export tab and `studio export --help`, the dtypes it
// writes, what the engine must have to make it, how its files are made and what its README model card says.
// The engine gathers the inputs (its resident model with the chosen adapter's values, a run's settings and the
// records the caller gives) and calls the build. Packaging (zip, output folders) is the callers' (the page, the CLI).
import type { ChatMessage } from '../../data/types';
import type { ModelFiles } from '../../io/model-files';
import type { Transformer } from '../../model/transformer';
import type { TokenizerInfo } from '../gguf-model';
import type { ExportFiles } from '../merged';
import type { KitModel, TrainingKitInput } from '../trl';

export interface ExportInput {
  /** The base model's name: PEFT's base_model_name_or_path, GGUF's general.name, the kit's base model. */
  name: string;
  /** One of the format's dtypes; undefined: its default. */
  dtype?: string;
  /** The LoRA Transformer holding the adapter's values, with the model's config/tokenizer and its files. */
  model?: { net: Transformer; info: TokenizerInfo; files: ModelFiles };
  /** The conversations a kit trains on. */
  records?: { messages: ChatMessage[] }[];
  /** The settings a kit repeats. */
  run?: TrainingKitInput['run'];
  /** Where a kit's script finds the base model (formats/kit.ts `kitModel` makes one from a local folder); default: from `name`. */
  kitModel?: KitModel;
}

export interface ExportFormatSpec {
  /** The registry key: `--format` on the command line, the zip's suffix, the card's kind. */
  id: string;
  /** What the Export tab's button downloads ('merged model') and --help lists. */
  label: string;
  description: string;
  /** The dtypes it writes, its default first; empty: no choice. */
  dtypes: readonly string[];
  /** weights: the Transformer (model); adapter: the CLI refuses to run without --adapter; records: the kit's data. */
  needs: { weights: boolean; adapter: boolean; records: boolean };
  card: {
    /** Hugging Face library_name. */
    library: string;
    tags: readonly string[];
    /** The card's first line: what the files are. */
    what: string;
    /** Markdown on how to load it; `base` is the base model's id as a JSON string. */
    usage(base: string): string;
  };
  build(input: ExportInput): Promise<ExportFiles>;
}

/**
 * The dtype to write: `dtype` (any case) when the format lists it, its default when undefined. `flag` names
 * the option in the message ('--dtype' on the command line).
 */
export function pickDtype<D extends string>(format: { id: string; dtypes: readonly D[] }, dtype: string | undefined, flag = 'dtype'): D | undefined {
  if (dtype === undefined) return format.dtypes[0];
  const d = format.dtypes.find((x) => x === dtype.toUpperCase());
  if (d !== undefined) return d;
  throw new Error(format.dtypes.length ? `${flag} for ${format.id} must be one of ${format.dtypes.join(', ')}` : `${flag} does not apply to ${format.id}`);
}

/** The input a format needs, or one line naming what is missing. */
export function needed<K extends keyof ExportInput>(input: ExportInput, key: K, id: string): NonNullable<ExportInput[K]> {
  const v = input[key];
  if (v === undefined || v === null) throw new Error(`the ${id} export needs ${key === 'model' ? 'the model with its adapter' : `the ${key}`}`);
  return v as NonNullable<ExportInput[K]>;
}
