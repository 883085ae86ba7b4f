// describeError: an error's message with its causes, for fail_reason and logs.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { describeError, silentLog } from '../../src/util/log.js';
import { tsLoaderArgs } from '../helpers/spawn-ts.js';

t.test('joins an error with its causes', async (t) => {
  const root = Object.assign(new Error("EIO: i/o error, pread '/dev/loop3'"), { code: 'EIO' });
  const mid = new Error('read chunk 4', { cause: root });
  const top = new Error('backup 7 failed', { cause: mid });
  t.equal(describeError(top), "backup 7 failed: read chunk 4: EIO: i/o error, pread '/dev/loop3'");
});

t.test('does not repeat a cause whose message is already included', async (t) => {
  const root = new Error('chunk 1f2e is missing');
  const top = new Error('restore chunk 3 at offset 12582912: chunk 1f2e is missing', { cause: root });
  t.equal(describeError(top), 'restore chunk 3 at offset 12582912: chunk 1f2e is missing');
});

t.test('stops after four levels', async (t) => {
  let e: Error = new Error('level 0');
  for (let i = 1; i < 10; i++) e = new Error(`level ${i}`, { cause: e });
  t.equal(describeError(e), 'level 9: level 8: level 7: level 6');
});

t.test('describes non-errors and non-error causes', async (t) => {
  t.equal(describeError('plain string'), 'plain string');
  t.equal(describeError(42), '42');
  t.equal(describeError(new Error('outer', { cause: 'inner text' })), 'outer: inner text');
  t.equal(describeError(undefined), 'unknown error');
  t.equal(describeError(null), 'unknown error');
  t.equal(describeError(new Error('')), 'unknown error', 'an empty message');
});

// describeError runs on the main thread (fail_reason, logs): a hang there stops the
// daemon. Run it in a child process with a deadline, so a hang fails this test
// instead of stalling the suite.
function describeInChild(setup: string): { status: number | null; stdout: string; timedOut: boolean } {
  const logUrl = new URL('../../src/util/log.ts', import.meta.url).href;
  const code = `import { describeError } from ${JSON.stringify(logUrl)};\n${setup}\nprocess.stdout.write(describeError(err));`;
  const r = spawnSync(process.execPath, [...tsLoaderArgs(), '--input-type=module', '-e', code], { timeout: 5_000, killSignal: 'SIGKILL', encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, timedOut: r.signal !== null };
}

t.test('(the child-process harness works on a plain chain)', async (t) => {
  const r = describeInChild(`const err = new Error('top', { cause: new Error('root') });`);
  t.equal(r.status, 0);
  t.equal(r.stdout, 'top: root');
});

t.test('a cause cycle does not loop forever', async (t) => {
  const r = describeInChild(`const a = new Error('a'); const b = new Error('b', { cause: a }); a.cause = b; const err = b;`);
  t.notOk(r.timedOut, 'describeError returns (it did not within 5 s)');
  t.equal(r.stdout, 'b: a');
});

t.test('an error that is its own cause does not loop forever', async (t) => {
  const r = describeInChild(`const err = new Error('self'); err.cause = err;`);
  t.notOk(r.timedOut, 'describeError returns (it did not within 5 s)');
  t.equal(r.stdout, 'self');
});

t.test('silentLog accepts every call and its children are silent too', async (t) => {
  silentLog.info({ a: 1 }, 'x');
  silentLog.warn({});
  silentLog.error({});
  silentLog.debug({});
  t.equal(silentLog.child({ job: 1 }), silentLog);
});
