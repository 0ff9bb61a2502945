// Dispatch-grid helpers shared by kernels. WebGPU caps each grid dimension at 65535 workgroups, so long
// 1-D launches fold into 2-D; kernels recover the flat index as gid.x + gid.y * num_workgroups.x * WG.

const MAX_DIM = 65535;

export function elementwiseGrid(n: number, workgroupSize: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / workgroupSize));
  if (groups <= MAX_DIM) return [groups, 1];
  const y = Math.ceil(groups / MAX_DIM);
  return [Math.ceil(groups / y), y];
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}
