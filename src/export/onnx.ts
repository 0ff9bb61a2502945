// ONNX export of a tuned model of any family in the layout transformers.js loads for text generation
// (see ../shared/onnxruntime-web-notes.md): onnx/model.onnx plus config.json, generation_config.json and the
// tokenizer files (the same as the merged Hugging Face export, which supplies the merged weights).
//
// The graph itself is src/generate/onnx-graph.ts (the ONNX decoder runs it too).
import type { ModelFiles } from '../io/model-files';
import type { Transformer } from '../model/transformer';
import { onnxGraph, type OnnxOptions } from '../generate/onnx-graph';
import { exportMergedModel, type ExportFiles } from './merged';

/**
 * transformers.js layout: onnx/model.onnx + config, generation config and tokenizer files of the source.
 * config.json gains `"transformers.js_config": { "dtype": "fp32" }`: transformers.js otherwise asks for
 * onnx/model_quantized.onnx on its wasm device (the browser's default). The 'merged' export loads with
 * `pipeline('text-generation', folder)`; the 'inputs' one needs the LoRA feeds, which transformers.js does not
 * give, so it is for our own session (src/generate/onnx-decoder.ts).
 */
export async function exportOnnxModel(model: Transformer, source: ModelFiles, opts: OnnxOptions = {}): Promise<ExportFiles> {
  const hf = await exportMergedModel(model, source);
  const files: ExportFiles = new Map([...hf].filter(([name]) => !name.endsWith('.safetensors') && name !== 'model.safetensors.index.json'));
  const config = JSON.parse(new TextDecoder().decode(files.get('config.json')!)) as Record<string, unknown>;
  config['transformers.js_config'] = { dtype: 'fp32' };
  files.set('config.json', new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`));
  files.set('onnx/model.onnx', await onnxGraph(model, opts));
  return files;
}
