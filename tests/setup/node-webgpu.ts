// Node test setup: Dawn's WebGPU as navigator.gpu on the adapter the vitest project names (STUDIO_GPU, vitest.config.ts).
import { installNodeWebGPU } from '../../src/gpu/node';

await installNodeWebGPU();
