// One Gpu per test file, in Node (Dawn, installed by tests/setup/node-webgpu.ts) and in Chromium alike.
import { createGpu, type Gpu } from '../../src/gpu/runtime';

let shared: Promise<Gpu> | null = null;

export function testGpu(): Promise<Gpu> {
  shared ??= createGpu();
  return shared;
}
