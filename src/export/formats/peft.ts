// The adapter as Hugging Face PEFT writes and loads it: adapter_model.safetensors + adapter_config.json.
import { needed, type ExportFormatSpec } from './format';

export const peft = {
  id: 'peft',
  label: 'PEFT adapter',
  description: 'adapter_model.safetensors + adapter_config.json + README model card, as Hugging Face PEFT loads them.',
  dtypes: [],
  needs: { weights: true, adapter: true, records: false },
  card: {
    library: 'peft',
    tags: [],
    what: 'A PEFT LoRA adapter (adapter_model.safetensors + adapter_config.json) for the base model.',
    usage: (base) => [
      '```python',
      'from peft import PeftModel',
      'from transformers import AutoModelForCausalLM, AutoTokenizer',
      `base = AutoModelForCausalLM.from_pretrained(${base})`,
      'model = PeftModel.from_pretrained(base, "path/to/this/folder")',
      `tokenizer = AutoTokenizer.from_pretrained(${base})`,
      '```',
    ].join('\n'),
  },
  build: async (input) => {
    const { net } = needed(input, 'model', 'peft');
    const { exportPeftAdapter, peftExportFiles } = await import('../peft');
    return peftExportFiles(await exportPeftAdapter(net, input.name));
  },
} satisfies ExportFormatSpec;
