// Node test setup: Dawn's WebGPU as navigator.gpu (SwiftShader on this machine).
import { installNodeWebGPU } from '../../src/gpu/node';

await installNodeWebGPU();
