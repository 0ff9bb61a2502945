// The LoRA as a GGUF adapter, beside the base model as GGUF and an Ollama Modelfile that applies it
// (src/export/gguf.ts, gguf-model.ts). The dtype is the base model's; the adapter is f32.
import type { ExportFormatSpec } from './format';
import { GGUF_DTYPES, ggufBuild } from './gguf';

export const ggufLora = {
  id: 'gguf-lora',
  label: 'GGUF LoRA adapter + base',
  description: 'the adapter as a GGUF LoRA, the base model as GGUF and an Ollama Modelfile with ADAPTER; the dtype is the base\'s.',
  dtypes: GGUF_DTYPES,
  needs: { weights: true, adapter: true, records: false },
  card: {
    library: 'gguf',
    tags: ['gguf', 'ollama'],
    what: 'A GGUF LoRA adapter for llama.cpp and Ollama, with the base model as GGUF and an Ollama Modelfile.',
    usage: () => [
      'With Ollama (the Modelfile applies the adapter to the base model in this folder), then llama.cpp:',
      '```sh',
      'ollama create my-model -f Modelfile',
      'ollama run my-model',
      'llama-cli -m base-f16.gguf --lora adapter-f32.gguf -cnv   # the base-*.gguf in this folder',
      '```',
    ].join('\n'),
  },
  build: ggufBuild('gguf-lora'),
} satisfies ExportFormatSpec;
