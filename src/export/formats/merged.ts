// The base model with the LoRA folded into its weights, as a Hugging Face folder (src/export/merged.ts).
import { needed, pickDtype, type ExportFormatSpec } from './format';

const DTYPES = ['F32', 'F16', 'BF16'] as const;

export const merged = {
  id: 'merged',
  label: 'merged model',
  description: 'a Hugging Face folder with the LoRA folded into the base weights, loadable here and by transformers.',
  dtypes: DTYPES,
  needs: { weights: true, adapter: false, records: false },
  card: {
    library: 'transformers',
    tags: [],
    what: 'The base model with the LoRA adapter merged into its weights: a complete Hugging Face model.',
    usage: () => [
      '```python',
      'from transformers import AutoModelForCausalLM, AutoTokenizer',
      'model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")',
      'tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")',
      '```',
    ].join('\n'),
  },
  build: async (input) => {
    const { net, files } = needed(input, 'model', 'merged');
    const { exportMergedModel } = await import('../merged');
    return exportMergedModel(net, files, { dtype: pickDtype({ id: 'merged', dtypes: DTYPES }, input.dtype) });
  },
} satisfies ExportFormatSpec;
