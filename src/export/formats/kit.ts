// "Take this run to a cluster": the dataset and TRL and Axolotl configs that repeat the run (src/export/trl.ts).
// Needs no weights: the page builds it from the open dataset, the CLI from --data and the adapter's training log.
// The hosts say where the base model comes from (`kitModel`): a Hub id, or a local folder whose loadable files
// travel in the kit when they total at most KIT_MODEL_MAX_BYTES (the built-in model: 0.6 MB).
import { openFile, type ModelFiles } from '../../io/model-files';
import type { ExportFiles } from '../merged';
import { exportTrainingKit, KIT_MODEL_DIR, type KitModel } from '../trl';
import { needed, type ExportFormatSpec } from './format';

/** A Hugging Face repository id: owner/name. */
export const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

/** The largest local model folder a kit carries: past it the script asks for the folder's path. */
export const KIT_MODEL_MAX_BYTES = 2 ** 30;

/** The files transformers reads from a model folder (top level): config, weights, tokenizer, chat template. */
const LOADABLE = /^(config\.json|generation_config\.json|[^/]+\.safetensors|model\.safetensors\.index\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json|chat_template\.(jinja|json)|tokenizer\.model|vocab\.json|merges\.txt)$/;

/** A local folder as the kit names and carries it: its loadable files, or null when they exceed `maxBytes`. */
export async function kitModel(files: ModelFiles, name = files.name, maxBytes = KIT_MODEL_MAX_BYTES): Promise<KitModel> {
  const paths = files.list().filter((p) => LOADABLE.test(p)).sort();
  let bytes = 0;
  for (const p of paths) {
    const source = await openFile(files, p);
    bytes += source.size;
    await source.close();
  }
  if (bytes > maxBytes) return { folder: name, files: null };
  const carried: ExportFiles = new Map();
  for (const p of paths) carried.set(p, await files.read(p));
  return { folder: name, files: carried };
}

export const kit = {
  id: 'kit',
  label: 'training kit for TRL and Axolotl',
  description: 'the dataset\'s train split as messages JSONL, a TRL SFTTrainer script that runs as shipped and an Axolotl config with the run\'s settings (a local base model travels inside).',
  dtypes: [],
  needs: { weights: false, adapter: true, records: true },
  card: {
    library: 'peft',
    tags: [],
    what: 'The curated dataset and ready TRL and Axolotl configs that repeat this run at scale.',
    usage: () => [
      '```sh',
      'pip install "trl>=1.13" peft datasets transformers accelerate',
      'python train_trl.py                  # TRL (SFTTrainer + PEFT): one GPU, or the CPU',
      'accelerate launch train_trl.py       # several GPUs, data parallel (not checked by the studio)',
      'axolotl train axolotl.yaml           # or Axolotl (not checked against its schema)',
      '```',
      '',
      `Nothing to edit: the base model is the run's, by its Hub id or carried in \`${KIT_MODEL_DIR}/\` (\`--model PATH_OR_ID\` for another copy), with the run's LoRA and trainer settings, bf16 only where the GPU has it. The loss counts assistant turns only, each one a TRL prompt/completion row. Several GPUs multiply the batch by their number. Checked by the studio's tests on its built-in model: the script runs unmodified in TRL 1.13 on a CPU and its adapter answers held-out questions about as well as the studio's.`,
    ].join('\n'),
  },
  // Without a host's word on the model: a Hub id is named as it is, any other name is a folder asked for by its path.
  build: async (input) => exportTrainingKit({
    model: input.kitModel ?? (HUB_ID.test(input.name) ? { hub: input.name } : { folder: input.name, files: null }),
    records: needed(input, 'records', 'kit'), run: needed(input, 'run', 'kit'),
  }),
} satisfies ExportFormatSpec;
