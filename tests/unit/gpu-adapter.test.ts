// The one software-adapter rule and the adapter's name (src/gpu/adapter.ts), over the GPUAdapterInfo that real
// adapters give (as Dawn in Node and Chrome report them), and the Node adapter choice's parsing (src/gpu/node.ts).
import { describe, expect, it } from 'vitest';
import { adapterName, gpuLine, isSoftwareAdapter } from '../../src/gpu/adapter';
import { gpuChoice } from '../../src/gpu/node';

const SOFTWARE = [
  { vendor: 'google', architecture: 'swiftshader', description: '' },                       // Chromium's SwiftShader
  { vendor: 'google', architecture: '', description: 'SwiftShader driver 5.0.0' },           // Dawn in Node on its ICD
  { vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1' }, // lavapipe
  { vendor: 'microsoft', architecture: '', description: 'Microsoft Basic Render Driver' },   // WARP
  { vendor: '', architecture: '', description: '', isFallbackAdapter: true },
];
const HARDWARE = [
  { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' },
  { vendor: 'apple', architecture: 'metal-3', description: '' },
  { vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) UHD Graphics 770' },
  { vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' },
];

describe('the software-adapter rule', () => {
  it('calls CPU rasterisers software and GPUs not', () => {
    for (const info of SOFTWARE) expect(isSoftwareAdapter(info), JSON.stringify(info)).toBe(true);
    for (const info of HARDWARE) expect(isSoftwareAdapter(info), JSON.stringify(info)).toBe(false);
  });

  it('names an adapter by its description, else by what the browser tells', () => {
    expect(adapterName(SOFTWARE[2])).toBe('llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1');
    expect(adapterName(SOFTWARE[0])).toBe('google swiftshader');
    expect(adapterName({})).toBe('unknown adapter');
  });

  it('says the summary in one line: adapter, fast paths, binding limit', () => {
    expect(gpuLine({ adapter: 'llvmpipe (LLVM 15.0.6)', f16: true, subgroups: true, maxStorageBufferBindingSize: 128 * 2 ** 20 }))
      .toBe('llvmpipe (LLVM 15.0.6); shader-f16 yes, subgroups yes, storage binding limit 128 MiB');
    expect(gpuLine({ adapter: 'SwiftShader Device', f16: false, subgroups: false, maxStorageBufferBindingSize: 2 ** 30 }))
      .toBe('SwiftShader Device; shader-f16 no, subgroups no, storage binding limit 1,024 MiB');
  });
});

describe('STUDIO_GPU', () => {
  it('is auto when unset, one of the choices otherwise, and refused by name when not', () => {
    expect(gpuChoice({})).toBe('auto');
    expect(gpuChoice({ STUDIO_GPU: 'Lavapipe ' })).toBe('lavapipe');
    expect(() => gpuChoice({ STUDIO_GPU: 'nvidia' })).toThrow('STUDIO_GPU (or --gpu) must be one of auto, swiftshader, lavapipe, not "nvidia"');
  });
});
