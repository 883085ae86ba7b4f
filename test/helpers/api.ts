// A small client for the daemon's HTTP API in tests: JSON in, status and JSON out,
// and polling helpers for the asynchronous operations.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
  text: string;
}

export class Api {
  constructor(
    readonly url: string,
    readonly token: string | null,
    readonly tenant: string,
  ) {}

  as(token: string | null, tenant = this.tenant): Api {
    return new Api(this.url, token, tenant);
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(this.url + path, {
      method,
      headers: {
        ...(this.token !== null ? { 'X-Auth-Token': this.token } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed, headers: res.headers, text };
  }

  backups(suffix = ''): string {
    return `/v1.1/${this.tenant}/hp-volume-backups${suffix}`;
  }
  volumes(suffix = ''): string {
    return `/v1.1/${this.tenant}/os-volumes${suffix}`;
  }

  async createVolume(sizeGb: number, name = 'vol'): Promise<string> {
    const r = await this.call('POST', this.volumes(), { volume: { size: sizeGb, display_name: name } });
    if (r.status !== 200) throw new Error(`create volume: ${r.status} ${r.text}`);
    const id = r.body.volume.id as string;
    await this.waitVolume(id, (s) => s === 'available');
    return id;
  }

  async waitVolume(id: string, ok: (status: string) => boolean, timeoutMs = 120_000): Promise<any> {
    return this.#wait(this.volumes(`/${id}`), 'volume', ok, timeoutMs);
  }

  async waitBackup(id: string, ok: (status: string) => boolean, timeoutMs = 120_000): Promise<any> {
    return this.#wait(this.backups(`/${id}`), 'backup', ok, timeoutMs);
  }

  async #wait(path: string, key: string, ok: (status: string) => boolean, timeoutMs: number): Promise<any> {
    const until = Date.now() + timeoutMs;
    let last: Reply | undefined;
    while (Date.now() < until) {
      last = await this.call('GET', path);
      if (last.status === 200 && ok(last.body[key].status)) return last.body[key];
      if (last.status === 404 && ok('gone')) return null;
      await sleep(100);
    }
    throw new Error(`${path}: still ${last?.status} ${last?.text} after ${timeoutMs} ms`);
  }

  /** Creates a backup and waits until it is available (or fails the test). */
  async backup(volumeId: string, extra: Record<string, unknown> = {}): Promise<any> {
    const r = await this.call('POST', this.backups(), { backup: { volume_id: volumeId, ...extra } });
    if (r.status !== 200) throw new Error(`create backup: ${r.status} ${r.text}`);
    const b = await this.waitBackup(r.body.backup.id, (s) => s !== 'creating');
    if (b.status !== 'available') throw new Error(`backup ${b.id} ended ${b.status}: ${b.fail_reason}`);
    return b;
  }

  /** Restores and waits for the target volume to settle; returns the volume. */
  async restore(backupId: string, volumeId?: string): Promise<any> {
    const r = await this.call('POST', this.backups(`/${backupId}/restore`), { restore: volumeId ? { volume_id: volumeId } : {} });
    if (r.status !== 200) throw new Error(`restore: ${r.status} ${r.text}`);
    return this.waitVolume(r.body.restore.volume_id, (s) => s !== 'restoring-backup');
  }
}
