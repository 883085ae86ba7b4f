// The fs store: the conformance suite, then what only a file system shows —
// where objects land, no temp files left, no way out of the root, tenants kept
// apart, and failed writes cleaned up with a clear error.
import t, { type Test } from 'tap';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsStoreProvider } from '../../src/store/fs.js';
import { StoreError, isNotFound, type ObjectInfo, type ObjectStore } from '../../src/store/object-store.js';
import { tempDir } from '../helpers/tmp.js';
import { storeConformance } from './suite.js';

function provider(t: Test): { root: string; fs: FsStoreProvider } {
  const root = tempDir(t, 'volbackd-fs-store-');
  const fs = new FsStoreProvider({ root });
  t.teardown(() => fs.close());
  return { root, fs };
}

/** Tenant t1's store, with its container "c" created. */
async function containerC(t: Test): Promise<{ root: string; fs: FsStoreProvider; store: ObjectStore }> {
  const { root, fs } = provider(t);
  const store = fs.forTenant('t1');
  await store.ensureContainer('c');
  return { root, fs, store };
}

/** Every file under dir, as paths relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

async function names(it: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const out: string[] = [];
  for await (const info of it) out.push(info.name);
  return out;
}

const invalid = (err: unknown): boolean => err instanceof StoreError && err.code === 'EINVAL' && !err.retryable;

void storeConformance(t, 'fs store', async (t) => provider(t).fs.forTenant('conformance'));

t.test('objects land at <root>/AUTH_<tenant>/<container>/<name>', async (t) => {
  const { root, fs } = provider(t);
  const store = fs.forTenant('t1');
  t.equal(store.describe, `fs ${root}/AUTH_t1`);
  await store.ensureContainer('c');
  await store.put('c', 'volbackd/v1/chunks/abcd', Buffer.from('chunk'));
  t.equal(readFileSync(join(root, 'AUTH_t1/c/volbackd/v1/chunks/abcd'), 'utf8'), 'chunk');
});

t.test('no temp files remain after puts, overwrites and refused puts', async (t) => {
  const { root, store } = await containerC(t);
  for (let i = 0; i < 20; i++) await store.put('c', `d/${i % 5}`, Buffer.alloc(i * 1000, i));
  await t.rejects(store.put('c', 'd/bad', Buffer.from('x'), { md5: '0'.repeat(32) }), { code: 'EBADMSG', status: 422, retryable: false });
  t.same(files(root), ['0', '1', '2', '3', '4'].map((n) => `AUTH_t1/c/d/${n}`));
});

t.test('names that could leave the root are refused', async (t) => {
  const { root, fs, store } = await containerC(t);
  for (const name of ['../x', 'a/../../x', '..', '.', 'a/./b', '/etc/passwd', 'a\0b', 'a//b', 'a/', '', '.x.tmp-0123456789abcdef', 'x'.repeat(1025)]) {
    const label = JSON.stringify(name.slice(0, 30));
    t.ok(invalid(await failure(store.put('c', name, Buffer.from('x')))), `put ${label}`);
    t.ok(invalid(await failure(store.get('c', name))), `get ${label}`);
    t.ok(invalid(await failure(store.head('c', name))), `head ${label}`);
    t.ok(invalid(await failure(store.delete('c', name))), `delete ${label}`);
  }
  for (const container of ['..', '.', 'a\0', '/abs']) {
    t.ok(invalid(await failure(store.ensureContainer(container))), `container ${JSON.stringify(container)}`);
  }
  for (const tenant of ['', '..', '.', 'a/b', '../AUTH_t1', 'a\0']) {
    t.throws(() => fs.forTenant(tenant), { code: 'EINVAL', retryable: false }, `tenant ${JSON.stringify(tenant)}`);
  }
  t.same(await names(store.list('c', '../')), [], 'a prefix cannot walk out either');
  t.same(await names(store.list('c', '/etc/')), []);
  t.same(files(root), [], 'nothing was written');
});

t.test('a tenant cannot see another tenant’s objects', async (t) => {
  const { fs } = provider(t);
  const a = fs.forTenant('alice');
  const b = fs.forTenant('bob');
  await a.ensureContainer('backups');
  await a.put('backups', 'secret', Buffer.from('s'));
  t.equal(await b.head('backups', 'secret'), null);
  t.ok(isNotFound(await failure(b.get('backups', 'secret'))));
  t.same(await names(b.list('backups', '')), []);
  await b.ensureContainer('backups');
  t.same(await names(b.list('backups', '')), []);
  t.equal(await b.delete('backups', 'secret'), false);
  t.equal(Buffer.concat(await a.get('backups', 'secret')).toString(), 's');
});

t.test('a write that fails removes its temp file and says what failed', async (t) => {
  const { root, store } = await containerC(t);
  await store.put('c', 'd/x', Buffer.from('x'));

  // "d" holds objects, so the rename over it fails.
  const err1 = await store.put('c', 'd', Buffer.from('d')).catch((e: unknown) => e);
  t.match(err1, { code: 'EISDIR', retryable: false, message: /^put d in container c \(fs .*AUTH_t1\): objects named d\/… exist/ });
  // "d/x" is an object, so it cannot be a directory.
  const err2 = await store.put('c', 'd/x/y', Buffer.from('y')).catch((e: unknown) => e);
  t.match(err2, { code: 'ENOTDIR', retryable: false, message: /^put d\/x\/y in container c \(fs .*AUTH_t1\): ENOTDIR/ });
  // A name segment longer than the file system allows (NAME_MAX).
  const err3 = await store.put('c', `long/${'n'.repeat(300)}`, Buffer.from('n')).catch((e: unknown) => e);
  t.match(err3, { code: 'ENAMETOOLONG', retryable: false });

  t.same(files(root), ['AUTH_t1/c/d/x'], 'no temp file left behind');
  t.equal(Buffer.concat(await store.get('c', 'd/x')).toString(), 'x');
});

t.test('deleting the last object under a pseudo-directory lets its name become an object', async (t) => {
  const { root, store } = await containerC(t);
  await store.put('c', 'e/f/g', Buffer.from('g'));
  t.equal(await store.delete('c', 'e/f/g'), true);
  t.same(readdirSync(join(root, 'AUTH_t1/c')), [], 'empty pseudo-directories are removed');
  await store.put('c', 'e', Buffer.from('e'));
  t.equal(Buffer.concat(await store.get('c', 'e')).toString(), 'e');
  // An empty directory left by a crash is not in the way either.
  mkdirSync(join(root, 'AUTH_t1/c/h'));
  await store.put('c', 'h', Buffer.from('h'));
  t.equal(Buffer.concat(await store.get('c', 'h')).toString(), 'h');
});

t.test('list skips temp files and pseudo-directories; get of a pseudo-directory is not found', async (t) => {
  const { root, store } = await containerC(t);
  await store.put('c', 'p/q', Buffer.from('q'));
  writeFileSync(join(root, 'AUTH_t1/c/p/.q.tmp-0123456789abcdef'), 'half a write from a crash');
  t.same(await names(store.list('c', '')), ['p/q']);
  t.ok(isNotFound(await failure(store.get('c', 'p'))));
  t.equal(await store.head('c', 'p'), null);
  t.equal(await store.delete('c', 'p'), false);
  t.ok(isNotFound(await failure(store.get('c', 'p/q/r'))), 'a path through an object');
});

/** The error p rejects with; fails the test when p resolves. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => Promise.reject(new Error('resolved, but a rejection was expected')),
    (err: unknown) => err,
  );
}
