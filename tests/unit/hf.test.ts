// Hugging Face folders without the disk: config.json → ModelConfig (checked against the parameter counts
// the model cards publish), the browser FileList adapter, loading the small-vocabulary tiny models from
// memory (F32, BF16, sharded) and every refusal: unsupported architecture, missing files and tensors,
// shapes that disagree with the config, corrupt safetensors.
import { describe, expect, test } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { configFromHf, loadHfModel, parameterCount } from '../../src/io/hf';
import { estimateMemory, memoryVerdict } from '../../src/model/memory-estimate';
import { filesFromFileList, filesFromMap } from '../../src/io/model-files';
import { parseSafetensors, readTensorF32, writeSafetensors } from '../../src/io/safetensors';

const GPT2_SMALL = { model_type: 'gpt2', vocab_size: 50257, n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, n_ctx: 1024, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256 };
const TINYLLAMA = { model_type: 'llama', vocab_size: 32000, hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22, num_attention_heads: 32, num_key_value_heads: 4, max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 10000, rope_scaling: null, hidden_act: 'silu', tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2 };
const QWEN25_05B = { model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000, hidden_act: 'silu', tie_word_embeddings: true, use_sliding_window: false, sliding_window: 32768, bos_token_id: 151643, eos_token_id: 151645 };
const MISTRAL_7B = { model_type: 'mistral', vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 32768, rms_norm_eps: 1e-5, rope_theta: 10000, sliding_window: 4096, hidden_act: 'silu', tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2 };

describe('config.json → ModelConfig', () => {
  test('parameter counts match the published sizes (GPT-2 124M, TinyLlama 1.1B, Qwen2.5-0.5B, Mistral 7B)', () => {
    expect(parameterCount(configFromHf(GPT2_SMALL))).toBe(124_439_808);
    expect(parameterCount(configFromHf(TINYLLAMA))).toBe(1_100_048_384);
    expect(parameterCount(configFromHf(QWEN25_05B))).toBe(494_032_768);
    expect(parameterCount(configFromHf(MISTRAL_7B))).toBe(7_241_732_096);
  });

  test('fields', () => {
    expect(configFromHf(GPT2_SMALL)).toEqual({
      architecture: 'gpt2', modelType: 'gpt2', vocabSize: 50257, hiddenSize: 768, intermediateSize: 3072, numLayers: 12,
      numHeads: 12, numKvHeads: 12, headDim: 64, maxPositions: 1024, normEps: 1e-5, ropeTheta: 0, attentionBias: true,
      mlpBias: true, tieWordEmbeddings: true, bosTokenId: 50256, eosTokenId: 50256,
    });
    const qwen = configFromHf(QWEN25_05B);
    expect(qwen).toMatchObject({ architecture: 'llama', modelType: 'qwen2', headDim: 64, numKvHeads: 2, attentionBias: true, mlpBias: false, tieWordEmbeddings: true, ropeTheta: 1e6 });
    expect(configFromHf(TINYLLAMA)).toMatchObject({ attentionBias: false, tieWordEmbeddings: false, numKvHeads: 4, eosTokenId: 2 });
    expect(configFromHf({ ...TINYLLAMA, eos_token_id: [2, 7], head_dim: 128 })).toMatchObject({ eosTokenId: [2, 7], headDim: 128 });
    expect(configFromHf({ ...TINYLLAMA, num_key_value_heads: undefined })).toMatchObject({ numKvHeads: 32 });
    expect(configFromHf({ ...TINYLLAMA, rope_scaling: { rope_type: 'default' } }).ropeScaling).toBeNull();
    // Llama 3.2's config.json
    expect(configFromHf({ ...TINYLLAMA, rope_theta: 500000, rope_scaling: { factor: 32, high_freq_factor: 4, low_freq_factor: 1, original_max_position_embeddings: 8192, rope_type: 'llama3' } }).ropeScaling)
      .toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    expect(configFromHf({ ...TINYLLAMA, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling).toEqual({ type: 'linear', factor: 2 });
  });

  test.each([
    [{ ...TINYLLAMA, model_type: 'phi3' }, /config\.json: unsupported architecture phi3/],
    [{ ...TINYLLAMA, model_type: undefined }, /no model_type/],
    [{ ...TINYLLAMA, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling type yarn is not supported/],
    [{ ...TINYLLAMA, rope_scaling: { rope_type: 'llama3', factor: 32 } }, /rope_scaling.low_freq_factor must be a positive number/],
    [{ ...TINYLLAMA, hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ ...TINYLLAMA, num_key_value_heads: 5 }, /not a multiple of num_key_value_heads 5/],
    [{ ...TINYLLAMA, hidden_size: 0 }, /hidden_size must be a positive integer/],
    [{ ...TINYLLAMA, attention_bias: true }, /attention_bias without mlp_bias/],
    [{ ...GPT2_SMALL, activation_function: 'relu' }, /activation_function "relu" is not supported/],
    [[1], /no model_type/],
  ])('refuses %#', (json, message) => expect(() => configFromHf(json)).toThrow(message));
});

describe('memory estimate', () => {
  test('weights are 4 bytes a parameter; training needs more than inference; both grow with tokens', () => {
    const config = configFromHf(TINYLLAMA);
    const opts = { training: false, loraRank: 8, batchTokens: 512 };
    const inference = estimateMemory(config, opts);
    expect(inference.weightsBytes).toBe(4 * 1_100_048_384);
    expect(inference.bytes).toBe(inference.inferenceBytes);
    expect(inference.kvCacheBytes).toBe(2 * 22 * 4 * 64 * 512 * 4);
    const training = estimateMemory(config, { ...opts, training: true });
    expect(training.bytes).toBe(training.trainingBytes);
    expect(training.trainingBytes).toBeGreaterThan(training.inferenceBytes);
    // LoRA r=8 on q,k,v,o of 22 layers by default: r·(in+out) each, ×5 for value, gradient, two Adam moments
    // and the weight-decay mask; on every linear, the MLP's three (in+out = 2048+5632) add to it.
    expect(training.loraBytes).toBe(22 * 8 * ((2048 + 2048) + 2 * (2048 + 256) + (2048 + 2048)) * 4 * 5);
    const allLinear = estimateMemory(config, { ...opts, training: true, lora: { targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], dropout: 0 } });
    expect(allLinear.loraBytes).toBe(training.loraBytes + 22 * 8 * 3 * (2048 + 5632) * 4 * 5);
    // Dropout keeps each targeted linear's dropped-out input for backward: more activation memory.
    const withDropout = estimateMemory(config, { ...opts, training: true, lora: { targetModules: ['q_proj'], dropout: 0.1 } });
    expect(withDropout.activationBytes).toBeGreaterThan(estimateMemory(config, { ...opts, training: true, lora: { targetModules: ['q_proj'], dropout: 0 } }).activationBytes);
    expect(estimateMemory(config, { ...opts, training: true, batchTokens: 1024 }).trainingBytes).toBeGreaterThan(training.trainingBytes);
    // The largest buffer: the 32000×2048 embedding, or 512×32000 logits, whichever is larger.
    expect(training.largestBufferBytes).toBe(32000 * 2048 * 4);
  });

  test('the verdict refuses what a measured budget cannot hold, with both numbers, and only then', () => {
    const estimate = estimateMemory(configFromHf(TINYLLAMA), { training: true, loraRank: 8, batchTokens: 2048 });
    const GiB = 2 ** 30;
    const short = { requestedBytes: 8 * GiB, obtainedBytes: 3 * GiB, limitedBy: 'out of memory (vkAllocateMemory failed)' };
    // TinyLlama's 1,100,048,384 f32 weights alone are 4,196.35 MiB: neither inference nor training fits 3 GiB.
    expect(memoryVerdict('inference', estimate, short)).toMatch(/^Running this model needs about [\d,]+ MiB of GPU memory \(weights 4,196 MiB\); this GPU could give 3,072 MiB when asked \(out of memory \(vkAllocateMemory failed\)\)\. Pick a smaller model\.$/);
    expect(memoryVerdict('training', estimate, short)).toMatch(/^Training needs about [\d,]+ MiB .*could give 3,072 MiB.*Lower the batch size/);
    // Enough given: no verdict. Everything asked for given (limitedBy null): the probe cannot tell, no verdict.
    expect(memoryVerdict('training', estimate, { ...short, obtainedBytes: estimate.trainingBytes })).toBeNull();
    expect(memoryVerdict('training', estimate, { requestedBytes: GiB, obtainedBytes: GiB, limitedBy: null })).toBeNull();
  });
});

// Loading parses tokenizers and safetensors: allow for a busy machine (the project's default is 5 s).
describe('loading from memory', { timeout: 60_000 }, () => {
  test('llama-small: config, every expected tensor, tokenizer, ChatML template, generation config', async () => {
    const files = buildTinyModel('llama-small', 3);
    const m = await loadHfModel(filesFromMap('llama-small', files));
    expect(m.config).toMatchObject({ architecture: 'llama', hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8, tieWordEmbeddings: false });
    expect(m.weights.size).toBe(3 + 9 * 2);
    const st = parseSafetensors(files.get('model.safetensors')!, 'model.safetensors');
    for (const [name, w] of m.weights) expect(w, name).toEqual(readTensorF32(st, name));
    expect(m.chatTemplate?.endOfTurn).toBe('<|im_end|>');
    expect(m.tokenizer.eosTokenId).toBe(m.config.eosTokenId);
    expect(m.tokenizer.decode(m.tokenizer.encode('The capital of France is Paris.'))).toBe('The capital of France is Paris.');
    expect(m.generationConfig).toMatchObject({ eos_token_id: [m.config.eosTokenId, m.tokenizer.tokenToId('<|endoftext|>')] });
  });

  test('gpt2: names normalised to transformer.*, the attn.bias buffers dropped, no chat template', async () => {
    const files = buildTinyModel('gpt2', 4);
    const m = await loadHfModel(filesFromMap('gpt2', files));
    expect(m.config.architecture).toBe('gpt2');
    expect([...m.weights.keys()].every((n) => n.startsWith('transformer.'))).toBe(true);
    expect(m.weights.has('transformer.h.0.attn.bias')).toBe(false);
    expect(m.weights.get('transformer.h.1.attn.c_attn.weight')!.shape).toEqual([32, 96]);
    const st = parseSafetensors(files.get('model.safetensors')!, 'x');
    expect(m.weights.get('transformer.wte.weight')).toEqual(readTensorF32(st, 'wte.weight'));
    expect(m.chatTemplate).toBeNull();
  });

  test('bf16 weights load as f32 equal to the f32 file within bf16 rounding; sharded loads the same as single', async () => {
    const f32 = await loadHfModel(filesFromMap('a', buildTinyModel('llama-small', 5)));
    const bf16 = await loadHfModel(filesFromMap('b', buildTinyModel('llama-small', 5, { dtype: 'BF16' })));
    const sharded = buildTinyModel('llama-small', 5, { maxShardBytes: 20_000 });
    expect([...sharded.keys()].filter((k) => k.endsWith('.safetensors')).length).toBeGreaterThan(2);
    const fromShards = await loadHfModel(filesFromMap('c', sharded));
    for (const [name, w] of f32.weights) {
      expect(fromShards.weights.get(name), name).toEqual(w);
      const b = bf16.weights.get(name)!.data;
      for (let i = 0; i < w.data.length; i++) expect(Math.abs(b[i] - w.data[i])).toBeLessThanOrEqual(2 ** -8 * Math.abs(w.data[i]));
    }
  });

  test('a chat template in chat_template.jinja or chat_template.json (newer transformers) is found', async () => {
    const files = buildTinyModel('llama-small', 3);
    const config = JSON.parse(new TextDecoder().decode(files.get('tokenizer_config.json')));
    const { chat_template: source, ...rest } = config;
    files.set('tokenizer_config.json', new TextEncoder().encode(JSON.stringify(rest)));
    expect((await loadHfModel(filesFromMap('none', files))).chatTemplate).toBeNull();
    files.set('chat_template.jinja', new TextEncoder().encode(source));
    const fromJinja = await loadHfModel(filesFromMap('jinja', files));
    expect(fromJinja.chatTemplate?.source).toBe(source);
    expect(fromJinja.chatTemplate?.endOfTurn).toBe('<|im_end|>');
    files.delete('chat_template.jinja');
    files.set('chat_template.json', new TextEncoder().encode(JSON.stringify({ chat_template: source })));
    expect((await loadHfModel(filesFromMap('json', files))).chatTemplate?.source).toBe(source);
  });

  test('the FileList adapter strips the picked folder name and reads through File objects', async () => {
    const files = buildTinyModel('gpt2', 6);
    const list = [...files].map(([path, bytes]) => Object.assign(new File([bytes.slice()], path), { webkitRelativePath: `tiny-gpt2/${path}` }));
    const adapted = filesFromFileList(list);
    expect(adapted.name).toBe('tiny-gpt2');
    expect(adapted.list().sort()).toEqual([...files.keys()].sort());
    expect((await loadHfModel(adapted)).weights.size).toBe(4 + 12 * 2);
    await expect(adapted.read('nope.json')).rejects.toThrow('tiny-gpt2: missing file nope.json');
    const loose = filesFromFileList(list.map((f) => Object.assign(new File([f], f.name), { webkitRelativePath: '' })), 'dropped');
    expect(loose.list()).toContain('config.json');
  });
});

describe('refusals name the file and the problem', { timeout: 60_000 }, () => {
  const base = (): Map<string, Uint8Array> => buildTinyModel('llama-small', 7);
  const text = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
  const load = (files: Map<string, Uint8Array>): Promise<unknown> => loadHfModel(filesFromMap('m', files));

  test('missing files', async () => {
    for (const name of ['config.json', 'tokenizer.json']) {
      const files = base(); files.delete(name);
      await expect(load(files)).rejects.toThrow(`m: missing file ${name}`);
    }
    const files = base(); files.delete('model.safetensors');
    await expect(load(files)).rejects.toThrow(/m: no weights/);
    const sharded = buildTinyModel('llama-small', 7, { maxShardBytes: 20_000 });
    const shard = [...sharded.keys()].find((k) => k.startsWith('model-00002-of-'))!;
    sharded.delete(shard);
    await expect(load(sharded)).rejects.toThrow(`m: missing file ${shard} (listed in model.safetensors.index.json)`);
  });

  test('an unsupported architecture', async () => {
    const files = base();
    files.set('config.json', text({ ...JSON.parse(new TextDecoder().decode(files.get('config.json'))), model_type: 'falcon' }));
    await expect(load(files)).rejects.toThrow('m/config.json: unsupported architecture falcon');
  });

  test('a missing tensor, a tensor of the wrong shape, a tokenizer larger than the vocabulary', async () => {
    const st = parseSafetensors(base().get('model.safetensors')!, 'x');
    const all = [...st.tensors.keys()].map((name) => ({ name, ...readTensorF32(st, name) }));
    const files = base();
    files.set('model.safetensors', writeSafetensors(all.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight')));
    await expect(load(files)).rejects.toThrow('m/model.safetensors: missing tensor model.layers.1.mlp.up_proj.weight');
    files.set('model.safetensors', writeSafetensors(all.map((t) => (t.name === 'model.norm.weight' ? { ...t, shape: [2, 16] } : t))));
    await expect(load(files)).rejects.toThrow('m/model.safetensors: tensor model.norm.weight has shape [2, 16], config.json implies [32]');
    const small = base();
    small.set('config.json', text({ ...JSON.parse(new TextDecoder().decode(small.get('config.json'))), vocab_size: 100 }));
    await expect(load(small)).rejects.toThrow(/tokenizer\.json has 332 tokens but config\.json's vocab_size is 100/);
  });

  test('truncated or corrupt safetensors, bad JSON', async () => {
    const files = base();
    const bytes = files.get('model.safetensors')!;
    files.set('model.safetensors', bytes.subarray(0, bytes.length - 10));
    await expect(load(files)).rejects.toThrow(/^m\/model\.safetensors: tensor ".*": data_offsets .* run past the end of the data/);
    files.set('model.safetensors', new Uint8Array(3));
    await expect(load(files)).rejects.toThrow('m/model.safetensors: truncated');
    const bad = base(); bad.set('config.json', new TextEncoder().encode('{ "model_type": '));
    await expect(load(bad)).rejects.toThrow(/^m\/config\.json: not valid JSON/);
  });
});
