// The tuned model (LoRA merged) as one GGUF file for llama.cpp, Ollama and LM Studio, with an Ollama Modelfile
// (src/export/gguf-model.ts). Q4_K_M is the file llama-quantize writes from the f16 one.
import { needed, pickDtype, type ExportFormatSpec } from './format';

export const GGUF_DTYPES = ['F16', 'Q8_0', 'Q4_K_M', 'F32'] as const;

/** The merged GGUF model ('gguf') or the GGUF LoRA beside the base ('gguf-lora'): one writer, exportGgufFiles. */
export function ggufBuild(id: 'gguf' | 'gguf-lora'): ExportFormatSpec['build'] {
  return async (input) => {
    const { net, info, files } = needed(input, 'model', id);
    const { exportGgufFiles } = await import('../gguf-model');
    return exportGgufFiles(net, info, files, { format: id, dtype: pickDtype({ id, dtypes: GGUF_DTYPES }, input.dtype), name: input.name });
  };
}

export const gguf = {
  id: 'gguf',
  label: 'GGUF model for llama.cpp and Ollama',
  description: 'one GGUF file with the LoRA merged and an Ollama Modelfile (chat template, stop tokens, sampling defaults); the README says the two commands to run it.',
  dtypes: GGUF_DTYPES,
  needs: { weights: true, adapter: false, records: false },
  card: {
    library: 'gguf',
    tags: ['gguf', 'ollama'],
    what: 'The tuned model (LoRA merged) as one GGUF file for llama.cpp, Ollama and LM Studio, with an Ollama Modelfile.',
    usage: () => [
      'With Ollama (the Modelfile carries the chat template, stop tokens and sampling defaults), then llama.cpp:',
      '```sh',
      'ollama create my-model -f Modelfile',
      'ollama run my-model',
      'llama-cli -m model-f16.gguf -cnv       # the model-*.gguf in this folder: f16, q8_0 or q4_k_m',
      '```',
      'Q4_K_M (`studio export --format gguf --dtype Q4_K_M`, or Q4_K_M in the Export tab) is the file llama.cpp\'s',
      '`llama-quantize model-f16.gguf model-Q4_K_M.gguf Q4_K_M` writes from the f16 one: the same tensor types and bytes.',
    ].join('\n'),
  },
  build: ggufBuild('gguf'),
} satisfies ExportFormatSpec;
