// Two test projects over one suite (see ../shared/webgpu-without-a-gpu.md):
//  - node:    Node + Dawn (`webgpu` package) on SwiftShader; kernels, models, CPU refs, PyTorch parity, CLI, e2e drivers.
//  - browser: headless Debian Chromium on SwiftShader; the same kernel tests plus what needs a real browser (IndexedDB, workers).
// Tests under tests/gpu/ run in both; tests/node/ and tests/e2e/ only in Node; tests/browser/ only in Chromium.
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';

const chromiumArgs = [
  '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['tests/gpu/**/*.test.ts', 'tests/node/**/*.test.ts', 'tests/unit/**/*.test.ts', 'tests/e2e/**/*.test.ts'],
          setupFiles: ['tests/setup/node-webgpu.ts'],
          pool: 'forks',
          // Dawn reads the Vulkan ICD list once at start-up: point it at SwiftShader before the fork starts.
          env: process.env.VK_ICD_FILENAMES ? {} : { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' },
          fileParallelism: false,
        },
      },
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
