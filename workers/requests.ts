// The requests a client has sent over a channel to a worker and not yet seen answered, and what a lost worker means
// for them: a dead worker never answers, so every request still waiting rejects with the one line that names the lost
// worker (an Error named WorkerLost), and so does every later one, at once, until the client is given a new channel.
// Both clients keep theirs here (engine-channel.ts engineClient, data-client.ts dataToolsClient).
// Not here: noticing that a worker is gone (life.ts), or what a reply means (each client's own).

/** The name of the error a request gets when its worker is gone. */
export const WORKER_LOST = 'WorkerLost';

export const isWorkerLost = (e: unknown): boolean => e instanceof Error && e.name === WORKER_LOST;

export class Requests<P extends { reject(e: Error): void }> {
  private nextId = 1;
  private readonly waiting = new Map<number, P>();
  private lostWith: Error | null = null;

  /** Sends a request under a fresh id, to be answered through `p`; rejects `p` at once when the worker is lost. */
  open(p: P, send: (id: number) => void): void {
    if (this.lostWith) { p.reject(this.lostWith); return; }
    const id = this.nextId++;
    this.waiting.set(id, p);
    send(id);
  }

  /** The request `id` still waits for (undefined for an id never sent, already answered, or a message that is no reply). */
  get(id: unknown): P | undefined {
    return typeof id === 'number' ? this.waiting.get(id) : undefined;
  }

  /** The request `id`, answered now: it waits no more. */
  take(id: number): P | undefined {
    const p = this.waiting.get(id);
    this.waiting.delete(id);
    return p;
  }

  /** The worker is gone: every waiting request rejects with `message`, and every later one at once (until `reopen`). */
  lose(message: string): void {
    this.lostWith ??= Object.assign(new Error(message), { name: WORKER_LOST });
    const err = this.lostWith;
    for (const p of this.waiting.values()) p.reject(err);
    this.waiting.clear();
  }

  /** A new worker answers from now on. */
  reopen(): void { this.lostWith = null; }
}
