// "Take this run to a cluster": the dataset and TRL and Axolotl configs that repeat the run (src/export/trl.ts).
// Needs no weights: the page builds it from the open dataset, the CLI from --data and the adapter's training log.
import { exportTrainingKit } from '../trl';
import { needed, type ExportFormatSpec } from './format';

export const kit = {
  id: 'kit',
  label: 'training kit for TRL and Axolotl',
  description: 'the dataset\'s train split as messages JSONL, a TRL SFTTrainer script and an Axolotl config with the run\'s settings.',
  dtypes: [],
  needs: { weights: false, adapter: true, records: true },
  card: {
    library: 'peft',
    tags: [],
    what: 'The curated dataset and ready TRL and Axolotl configs that repeat this run at scale.',
    usage: () => [
      '```sh',
      'python train_trl.py                # TRL (SFTTrainer + PEFT)',
      'axolotl train axolotl.yaml         # or Axolotl',
      '```',
    ].join('\n'),
  },
  build: async (input) => exportTrainingKit({ baseModel: input.name, records: needed(input, 'records', 'kit'), run: needed(input, 'run', 'kit') }),
} satisfies ExportFormatSpec;
