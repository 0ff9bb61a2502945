// Global setup of the browser project: a local HTTP server standing in for "the network" that a sandboxed reward
// function must not reach. It records every request and WebSocket upgrade by path; GET /__hits answers (with CORS)
// the paths seen so far, so a test in the page can assert on what arrived at the server, not on what the page saw.
// Tests read its port with inject('trapPort').
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext { trapPort: number }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/__hits') {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(JSON.stringify(seen));
      return;
    }
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/javascript', 'access-control-allow-origin': '*' });
    res.end('export default () => 1;');
  });
  server.on('upgrade', (req, socket) => { seen.push(`UPGRADE ${req.url}`); socket.destroy(); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('trapPort', (server.address() as AddressInfo).port);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
