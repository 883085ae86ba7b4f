// Several tap runs may share the one test Swift at once (a developer's run and a
// helper's): start and stop happen under a lock file, and every run registers
// itself (tap's pid: the parent of the before/after scripts), so the last run
// to finish stops Swift, not the first.
import { mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  for (let i = 0; ; i++) {
    try {
      closeSync(openSync(lock, 'wx'));
      writeFileSync(lock, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lock, 'utf8').trim());
      if (holder && !alive(holder)) rmSync(lock, { force: true }); // a stale lock
      else if (i > 1800) throw new Error(`${lock} held by pid ${holder} for 3 minutes`);
      else await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Registers (or removes) this tap run; returns how many other live runs use the instance. */
export function register(dir: string, join_: boolean): number {
  const users = `${dir}.users`;
  mkdirSync(users, { recursive: true });
  const me = String(process.ppid);
  if (join_) writeFileSync(join(users, me), '');
  else rmSync(join(users, me), { force: true });
  let others = 0;
  for (const name of readdirSync(users)) {
    if (name === me) continue;
    if (alive(Number(name))) others++;
    else rmSync(join(users, name), { force: true });
  }
  return others;
}
