// The tuned model (LoRA merged) as ONNX in the layout transformers.js loads (src/export/onnx.ts).
import { needed, type ExportFormatSpec } from './format';

export const onnx = {
  id: 'onnx',
  label: 'ONNX model for transformers.js',
  description: 'the LoRA merged into an ONNX graph with the config and tokenizer files, as transformers.js (onnxruntime-web) loads it.',
  dtypes: [],
  needs: { weights: true, adapter: false, records: false },
  card: {
    library: 'transformers.js',
    tags: ['onnx'],
    what: 'The tuned model as ONNX in the layout transformers.js loads for text generation (onnxruntime-web).',
    usage: () => [
      '```js',
      "import { pipeline } from '@huggingface/transformers';",
      "const generate = await pipeline('text-generation', 'path/to/this/folder');",
      '```',
    ].join('\n'),
  },
  build: async (input) => {
    const { net, files } = needed(input, 'model', 'onnx');
    const { exportOnnxModel } = await import('../onnx');
    return exportOnnxModel(net, files, { lora: 'merged' });
  },
} satisfies ExportFormatSpec;
