// The static tokens file: generated once (0600, one admin and one demo token),
// parsed strictly without ever printing a token, and used to authenticate.
import t from 'tap';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/config.js';
import { StaticTokenAuth, ensureTokensFile, parseTokens } from '../../src/auth/static-tokens.js';
import { tempDir } from '../helpers/tmp.js';

const PATH = '/etc/volbackd/tokens.json';

/** Fails when any 6-character piece of `secret` shows in `text`. */
function leaks(text: string, secret: string): string | null {
  for (let i = 0; i + 6 <= secret.length; i++) if (text.includes(secret.slice(i, i + 6))) return secret.slice(i, i + 6);
  return null;
}

t.test('ensureTokensFile creates a 0600 file with one admin and one demo token and returns them', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'sub', 'dir', 'tokens.json');
  const tokens = ensureTokensFile(path);
  t.ok(tokens);
  t.equal(statSync(path).mode & 0o777, 0o600, 'mode 0600');
  t.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700, 'created directories are 0700');
  const entries = Object.entries(tokens!);
  t.equal(entries.length, 2);
  t.same(entries.map(([, e]) => e).sort((a, b) => a.tenant.localeCompare(b.tenant)), [
    { tenant: 'admin', admin: true },
    { tenant: 'demo', admin: false },
  ]);
  for (const [token] of entries) t.match(token, /^[0-9a-f]{48}$/, 'a 24-byte random hex token');
  t.same(JSON.parse(readFileSync(path, 'utf8')), tokens, 'the file holds what was returned');
  t.same(parseTokens(readFileSync(path, 'utf8'), path).size, 2, 'and parses back');
  const again = ensureTokensFile(join(dir, 'other.json'));
  t.notSame(Object.keys(again!), Object.keys(tokens!), 'tokens are random');
});

t.test('ensureTokensFile returns null the second time and leaves the file alone', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'tokens.json');
  ensureTokensFile(path);
  const before = readFileSync(path);
  const st = statSync(path);
  t.equal(ensureTokensFile(path), null);
  t.ok(readFileSync(path).equals(before), 'same bytes');
  const after = statSync(path);
  t.equal(after.mtimeMs, st.mtimeMs, 'not rewritten');
  t.equal(after.ino, st.ino, 'not replaced');
  // An operator's own file is never touched either.
  const own = join(dir, 'own.json');
  writeFileSync(own, '{"operator-token-1": {"tenant": "ops", "admin": true}}\n', { mode: 0o640 });
  t.equal(ensureTokensFile(own), null);
  t.equal(readFileSync(own, 'utf8'), '{"operator-token-1": {"tenant": "ops", "admin": true}}\n');
});

t.test('parseTokens reads tokens, tenants and the admin flag (false by default)', async (t) => {
  const m = parseTokens(JSON.stringify({ 'admin-token-123': { tenant: 'admin', admin: true }, 'tenant-token-1': { tenant: 'Team_1.a-b' } }), PATH);
  t.same([...m], [
    ['admin-token-123', { tenant: 'admin', admin: true }],
    ['tenant-token-1', { tenant: 'Team_1.a-b', admin: false }],
  ]);
  t.equal(parseTokens('{}', PATH).size, 0, 'an empty object is no tokens');
});

t.test('parseTokens refuses bad JSON without printing a token', async (t) => {
  const secret = 'supersecret-token-123';
  for (const text of [`{"${secret}": x}`, `{"${secret}": {"tenant": "a"},}`, `{"${secret}" {"tenant": "a"}}`, `{"${secret}": {"tenant": "a"}`]) {
    const err = (() => {
      try {
        parseTokens(text, PATH);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    t.type(err, ConfigError, JSON.stringify(text));
    t.match(err?.message, `config: auth.tokens_file ${PATH} is not valid JSON`);
    t.equal(leaks(err?.message ?? '', secret), null, `the message shows no piece of the token: ${err?.message}`);
  }
});

t.test('parseTokens refuses a document that is not an object', async (t) => {
  for (const text of ['[]', '"token"', '42', 'null', '[{"tenant":"a"}]']) {
    t.throws(() => parseTokens(text, PATH), { name: 'ConfigError', message: `config: auth.tokens_file ${PATH} must hold a JSON object of token -> {tenant, admin}` }, text);
  }
});

t.test('parseTokens refuses a short token, naming the entry by position only', async (t) => {
  const err = (() => {
    try {
      parseTokens(JSON.stringify({ 'good-token-123': { tenant: 'a' }, short7x: { tenant: 'b' } }), PATH);
    } catch (e) {
      return e as Error;
    }
    return null;
  })();
  t.match(err, { name: 'ConfigError', message: `config: auth.tokens_file ${PATH}, entry 2: a token must be at least 8 characters` });
  t.notMatch(err?.message, /short7x|good-token/);
});

t.test('parseTokens refuses a bad tenant without printing the token', async (t) => {
  const secret = 'secret-token-abcdef';
  for (const entry of [{ tenant: '' }, { tenant: 'has space' }, { tenant: 'a/b' }, { tenant: 'x'.repeat(65) }, { tenant: 7 }, {}, null, 'demo', [], { tenant: 'ünï' }]) {
    const err = (() => {
      try {
        parseTokens(JSON.stringify({ [secret]: entry }), PATH);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    t.match(err, { name: 'ConfigError', message: /entry 1: "tenant" must be 1-64 characters of A-Z a-z 0-9 _ \. -/ }, JSON.stringify(entry));
    t.equal(leaks(err?.message ?? '', secret), null);
  }
  t.doesNotThrow(() => parseTokens(JSON.stringify({ [secret]: { tenant: 'x'.repeat(64) } }), PATH), '64 characters is fine');
});

t.test('parseTokens refuses a non-boolean admin without printing the token', async (t) => {
  const secret = 'secret-token-abcdef';
  for (const admin of ['true', 1, null, 'yes']) {
    const err = (() => {
      try {
        parseTokens(JSON.stringify({ [secret]: { tenant: 'a', admin } }), PATH);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    t.match(err, { name: 'ConfigError', message: /entry 1: "admin" must be true or false/ }, JSON.stringify(admin));
    t.equal(leaks(err?.message ?? '', secret), null);
  }
});

t.test('authenticate resolves a known token to its principal and an unknown one to null', async (t) => {
  const auth = new StaticTokenAuth(parseTokens(JSON.stringify({ 'admin-token-123': { tenant: 'admin', admin: true }, 'tenant-token-1': { tenant: 't1' } }), PATH));
  t.equal(auth.kind, 'static');
  t.same(await auth.authenticate('admin-token-123'), { tenantId: 'admin', admin: true, token: 'admin-token-123' });
  t.same(await auth.authenticate('tenant-token-1'), { tenantId: 't1', admin: false, token: 'tenant-token-1' });
  t.equal(await auth.authenticate('tenant-token-2'), null);
  t.equal(await auth.authenticate(''), null);
  t.equal(await auth.authenticate('toString'), null, 'a prototype member name is not a token');
  t.same(auth.lookup('tenant-token-1'), { tenant: 't1', admin: false });
});

t.test('fromFile reads the file, and names it when it cannot', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'tokens.json');
  const generated = ensureTokensFile(path)!;
  const auth = StaticTokenAuth.fromFile(path);
  for (const [token, e] of Object.entries(generated)) t.same(await auth.authenticate(token), { tenantId: e.tenant, admin: e.admin, token });
  t.throws(() => StaticTokenAuth.fromFile(join(dir, 'missing.json')), { name: 'ConfigError', message: /cannot read auth\.tokens_file .*missing\.json: ENOENT/ });
});

t.test('a temp file left by a crash does not stop the generation', async (t) => {
  // The temp name is "<path>.tmp-<pid>"; in a container the daemon is often pid 1
  // on every start, so a leftover from a crash would otherwise fail every start.
  const dir = tempDir(t);
  const path = join(dir, 'tokens.json');
  writeFileSync(`${path}.tmp-${process.pid}`, '{"half');
  t.doesNotThrow(() => ensureTokensFile(path));
  t.ok(existsSync(path) && parseTokens(readFileSync(path, 'utf8'), path).size === 2, 'the tokens file is generated');
});
