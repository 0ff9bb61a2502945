// Test projects over one suite, one per adapter, each named for it (see README, "Tests"):
//  - node-swiftshader: Node + Dawn (`webgpu` package) on SwiftShader; kernels, models, CPU refs, PyTorch parity, CLI, e2e drivers.
//  - node-lavapipe:    Node + Dawn on Mesa's lavapipe (shader-f16, subgroups, a 128 MiB storage binding limit): the GPU
//                      kernel suite (with its f16 and subgroup variants, which SwiftShader lacks), the whole-model
//                      parity tests, the f16 path against the f32 path and the CLI's real-shape step run here.
//  - browser:          headless Debian Chromium on its SwiftShader; the same kernel tests plus what needs a real
//                      browser (IndexedDB, workers).
// Each Node project pins its adapter (STUDIO_GPU and VK_ICD_FILENAMES, read by src/gpu/node.ts and inherited by the
// CLI processes tests start): no test that asks for "an adapter" moves to another one because a driver was installed.
// What runs twice is what an adapter can change: kernels (compiler, f16, subgroups, subgroup size), the models built
// from them (against transformers), and a real model's widths under the small binding limit. Pure functions,
// storage, exports and the UI run once.
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';

const chromiumArgs = [
  '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A Node project on one named adapter (src/gpu/node.ts GPU_CHOICES). */
function nodeProject(gpu: 'swiftshader' | 'lavapipe', icd: string, include: string[]) {
  return {
    extends: true as const,
    test: {
      name: `node-${gpu}`,
      environment: 'node',
      include,
      setupFiles: ['tests/setup/node-webgpu.ts'],
      pool: 'forks' as const,
      env: { STUDIO_GPU: gpu, VK_ICD_FILENAMES: icd },
      fileParallelism: false,
    },
  };
}

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      nodeProject('swiftshader', '/usr/lib/chromium/vk_swiftshader_icd.json',
        ['tests/gpu/**/*.test.ts', 'tests/node/**/*.test.ts', 'tests/unit/**/*.test.ts', 'tests/e2e/**/*.test.ts']),
      nodeProject('lavapipe', '/usr/share/vulkan/icd.d/lvp_icd.json',
        ['tests/gpu/**/*.test.ts', 'tests/node/parity.test.ts', 'tests/node/hf-parity.test.ts', 'tests/node/f16-path.test.ts',
          'tests/node/cli-real-shape.test.ts']),
      {
        extends: true,
        // Pre-bundled up front: found mid-test, Vite would re-optimise and reload the page under a running test.
        optimizeDeps: { include: ['onnx-proto', 'onnxruntime-web/wasm'] },
        test: {
          name: 'browser',
          include: ['tests/gpu/**/*.test.ts', 'tests/browser/**/*.test.ts'],
          // A local server standing in for the network a sandboxed reward function must not reach.
          globalSetup: ['tests/browser/network-trap.ts'],
          fileParallelism: false,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            instances: [{ browser: 'chromium' }],
            provider: playwright({ launchOptions: { executablePath: '/usr/bin/chromium', args: chromiumArgs } }),
          },
        },
      },
    ],
  },
});
