// Swift as users see it: with auth.provider = "swift" a user's own Swift token
// drives the API and the backup lands in the user's own account, readable with the
// ordinary Swift tools (swift list / download, lz4 -d, xxhsum -H2); another
// account's user is refused by Swift itself; a Swift restarted in the middle of a
// backup does not fail it; a Swift gone for good fails it cleanly.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Api } from '../helpers/api.js';
import { startDaemon, swiftStoreToml, TOKENS } from '../helpers/daemon.js';
import { lz4CliDecode, xxhsum128 } from '../helpers/data.js';
import { loopUnavailable } from '../helpers/loop.js';
import { swiftEnv, swiftMissing, type SwiftEnv } from '../helpers/swift.js';
import { deviceOf, hashDevice, MiB, writeAt } from './fixtures/lib.js';

const skip = loopUnavailable() ?? swiftMissing();

function swiftCli(env: SwiftEnv, user: { user: string; key: string }, args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync('swift', ['-A', env.authUrl, '-U', user.user, '-K', user.key, ...args], { maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const swiftAuthToml =
  (cacheSeconds: number) =>
  ({ tokensFile, swift }: { tokensFile: string; swift: SwiftEnv | null }): string =>
    [
      '[auth]',
      'provider = "swift"',
      `tokens_file = "${tokensFile}"`,
      `cache_seconds = ${cacheSeconds}`,
      // The store's service credential is only for work no user token is around
      // for (collecting leftovers after a restart).
      swiftStoreToml(swift!),
    ].join('\n');

t.test("a user's own Swift token: the backup lands in the user's account", { skip: skip ?? false }, async (t) => {
  const d = await startDaemon(t, { store: 'swift', storeToml: swiftAuthToml(2) });
  const swift = d.swift!;
  const userToken = await swift.token(swift.test);
  const api = new Api(d.url, userToken, 'test');
  const container = `acct-${process.pid}`;
  t.teardown(() => (swift.scratch ? undefined : swift.removeContainer('test', container)));

  const v = await api.createVolume(1, 'mine');
  const dev = await deviceOf({ d }, 'test', v);
  writeAt(dev, 0, 4 * MiB);
  execFileSync('dd', [`if=/usr/share/common-licenses/GPL-3`, `of=${dev}`, 'bs=1M', 'seek=8', 'oflag=direct', 'conv=notrunc,sync', 'status=none']);
  const b = await api.backup(v, { container });
  t.equal(b.object_count, 3, 'two data chunks and the manifest');

  // The user's own credentials, the ordinary swift client.
  const list = swiftCli(swift, swift.test, ['list', container]);
  t.equal(list.status, 0, `swift list works: ${list.stderr}`);
  const names = list.stdout.toString().trim().split('\n');
  const manifests = names.filter((n) => /^volbackd\/[0-9a-f-]{36}\/backups\/[0-9a-f-]{36}\.json$/.test(n));
  const chunks = names.filter((n) => /^volbackd\/[0-9a-f-]{36}\/chunks\/[0-9a-f]{32}$/.test(n));
  t.equal(manifests.length, 1, 'the manifest is listed');
  t.equal(chunks.length, 2, 'the chunks are listed');
  const manifest = JSON.parse(swiftCli(swift, swift.test, ['download', container, manifests[0]!, '-o', '-']).stdout.toString());
  t.equal(manifest.format, 'volbackd-manifest');
  const sizes: number[] = [];
  for (const name of chunks) {
    const body = swiftCli(swift, swift.test, ['download', container, name, '-o', '-']).stdout;
    sizes.push(body.length);
    const digest = name.split('/').pop()!;
    const plain = body.length === 4 * MiB ? body : lz4CliDecode(body);
    t.equal(xxhsum128(plain), digest, `chunk ${digest.slice(0, 8)}… (${body.length === 4 * MiB ? 'raw' : 'lz4 -d'}) hashes to its name`);
  }
  t.ok(sizes.some((n) => n < 4 * MiB), 'the text chunk is an LZ4 frame');

  // Another account's user is refused by Swift itself.
  const other = swiftCli(swift, swift.test2, ['--os-storage-url', `${swift.storageUrlPrefix}test`, 'list', container]);
  t.not(other.status, 0, 'test2 cannot list test\'s container');
  t.match(other.stderr, /403|Forbidden/, 'Swift says 403');

  // Through the daemon: test2's token on test's path is 403, a garbage token 401.
  const t2 = api.as(await swift.token(swift.test2));
  const forbidden = await t2.call('POST', api.backups(), { backup: { volume_id: v, container } });
  t.same([forbidden.status, Object.keys(forbidden.body)], [403, ['forbidden']], "another account's token: 403");
  const garbage = await api.as('AUTH_tk0000000000000000000000000000000').call('GET', api.backups());
  t.same([garbage.status, Object.keys(garbage.body)], [401, ['unauthorized']], 'a token Swift refuses: 401');
  t.equal(swiftCli(swift, swift.test, ['list', container]).stdout.toString().trim().split('\n').length, 3, 'nothing more was written');

  // And the backup restores, read back with the user's token.
  const restored = await api.restore(b.id);
  t.equal(restored.status, 'available');
  const ndev = await deviceOf({ d }, 'test', restored.id);
  t.equal(hashDevice(ndev), hashDevice(dev), 'restored bytes are identical');
});

t.test('Swift restarted in the middle of a backup: the backup completes', { skip: skip ?? false }, async (t) => {
  const swift = (await swiftEnv(t, { private: true }))!;
  const d = await startDaemon(t, { store: 'swift', swift, toml: '[limits]\nmax_read_mbps = 30\n' });
  const api = new Api(d.url, TOKENS.t1, 't1');
  const v = await api.createVolume(1, 'restart');
  const dev = await deviceOf({ d }, 't1', v);
  writeAt(dev, 0, 160 * MiB); // ~5 s at 30 MB/s
  const h = hashDevice(dev);
  const r = await api.call('POST', api.backups(), { backup: { volume_id: v } });
  t.equal(r.status, 200);
  await d.waitLog((l) => l.msg === 'job running' && l.kind === 'backup');
  await sleep(1000);
  await swift.stop(); // tokens are dropped too: the service credential must log in again
  await sleep(1500);
  await swift.start();
  const b = await api.waitBackup(r.body.backup.id, (s) => s !== 'creating', 180_000);
  t.equal(b.status, 'available', `the backup completes (${b.fail_reason ?? 'no fail_reason'})`);
  t.ok(d.logs.some((l) => l.msg === 'store retry'), 'requests were retried while Swift was down');
  const restored = await api.restore(b.id);
  const ndev = await deviceOf({ d }, 't1', restored.id);
  t.equal(hashDevice(ndev), h, 'and it restores to identical bytes');
});

t.test('Swift stopped for good: the backup ends in error naming the cause, the volume available', { skip: skip ?? false }, async (t) => {
  const swift = (await swiftEnv(t, { private: true }))!;
  const d = await startDaemon(t, {
    store: 'swift',
    swift,
    swiftRetry: { attempts: 4, maxSeconds: 4 },
    toml: '[limits]\nmax_read_mbps = 30\n',
  });
  const api = new Api(d.url, TOKENS.t1, 't1');
  const v = await api.createVolume(1, 'gone');
  writeAt(await deviceOf({ d }, 't1', v), 0, 100 * MiB);
  const r = await api.call('POST', api.backups(), { backup: { volume_id: v } });
  await d.waitLog((l) => l.msg === 'job running' && l.kind === 'backup');
  await sleep(800);
  await swift.stop();
  const b = await api.waitBackup(r.body.backup.id, (s) => s !== 'creating', 120_000);
  t.equal(b.status, 'error', 'the backup ends in error');
  t.match(b.fail_reason, /ECONNREFUSED|connect/i, `fail_reason names the cause: ${b.fail_reason}`);
  t.match(b.fail_reason, /attempts/, 'and says it was retried');
  t.equal((await api.call('GET', api.volumes(`/${v}`))).body.volume.status, 'available', 'the volume is available again');
});
