import { availableParallelism } from 'node:os';
// loadConfig: defaults, TOML values, where relative paths resolve, command-line
// overrides, and a ConfigError naming the key for every kind of mistake.
import t, { type Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseListen } from '../../src/config.js';
import { tempDir } from '../helpers/tmp.js';

/** Writes `toml` to <dir>/etc/volbackd.toml; returns the dir and the file. */
function configFile(t: Test, toml: string): { dir: string; file: string } {
  const dir = tempDir(t, 'volbackd-config-');
  mkdirSync(join(dir, 'etc'));
  const file = join(dir, 'etc', 'volbackd.toml');
  writeFileSync(file, toml);
  return { dir, file };
}

/** The ConfigError loading `toml` throws (fails the test when none is thrown). */
function errorOf(t: Test, toml: string): ConfigError {
  const { dir, file } = configFile(t, toml);
  try {
    loadConfig({ configFile: file }, dir);
  } catch (err) {
    t.type(err, ConfigError, 'a ConfigError');
    return err as ConfigError;
  }
  t.fail(`no error for ${JSON.stringify(toml)}`);
  return new ConfigError('none');
}

t.test('defaults with no file', async (t) => {
  const cwd = tempDir(t);
  const c = loadConfig({}, cwd);
  t.same(c, {
    listen: { host: '127.0.0.1', port: 8776 },
    data_dir: join(cwd, 'var'),
    log_level: 'info',
    api_nice: -5,
    auth: { provider: 'static', tokens_file: join(cwd, 'var', 'tokens.json'), cache_seconds: 5 },
    store: {
      type: 'fs',
      path: join(cwd, 'var', 'objects'),
      storage_url_prefix: '',
      auth_url: '',
      auth_version: '1',
      user: '',
      key: '',
      user_domain: 'Default',
      project: '',
      project_domain: 'Default',
      concurrency: 16,
      http_workers: 0,
      retry_attempts: 10,
      retry_max_seconds: 120,
      timeout_seconds: 60,
    },
    backup: { chunk_size_mib: 4, default_container: 'volumebackups', max_in_flight: 24, read_concurrency: availableParallelism() + 2 },
    restore: { max_in_flight: 16 },
    jobs: { concurrency: 2 },
    volumes: { dir: join(cwd, 'var', 'volumes'), loop: 'auto', quota_gb: 1000, max_size_gb: 1024 },
    limits: { max_read_mbps: 0, max_write_mbps: 0 },
  });
});

t.test('values come from the TOML file', async (t) => {
  const { dir, file } = configFile(
    t,
    `
listen = "0.0.0.0:9776"
data_dir = "/srv/volbackd"
log_level = "debug"

[auth]
provider = "swift"
cache_seconds = 30

[store]
type = "swift"
storage_url_prefix = "http://127.0.0.1:8080/v1/AUTH_"
auth_url = "http://127.0.0.1:5000/v3"
auth_version = "3"
user = "volbackd"
key = "secret"
project = "service"
concurrency = 32
http_workers = 2
retry_attempts = 3
retry_max_seconds = 10.5
timeout_seconds = 5

[backup]
chunk_size_mib = 8
default_container = "nightly"
max_in_flight = 4

[restore]
max_in_flight = 6

[jobs]
concurrency = 3

[volumes]
loop = "never"
quota_gb = 50
max_size_gb = 20

[limits]
max_read_mbps = 200
max_write_mbps = 100.5
`,
  );
  const c = loadConfig({ configFile: file }, dir);
  t.same(c.listen, { host: '0.0.0.0', port: 9776 });
  t.equal(c.data_dir, '/srv/volbackd');
  t.equal(c.log_level, 'debug');
  t.same(c.auth, { provider: 'swift', tokens_file: '/srv/volbackd/tokens.json', cache_seconds: 30 });
  t.match(c.store, {
    type: 'swift',
    path: '/srv/volbackd/objects',
    storage_url_prefix: 'http://127.0.0.1:8080/v1/AUTH_',
    auth_version: '3',
    user: 'volbackd',
    key: 'secret',
    project: 'service',
    user_domain: 'Default',
    concurrency: 32,
    http_workers: 2,
    retry_attempts: 3,
    retry_max_seconds: 10.5,
    timeout_seconds: 5,
  });
  t.same(c.backup, { chunk_size_mib: 8, default_container: 'nightly', max_in_flight: 4, read_concurrency: availableParallelism() + 2 });
  t.same(c.restore, { max_in_flight: 6 });
  t.same(c.jobs, { concurrency: 3 });
  t.same(c.volumes, { dir: '/srv/volbackd/volumes', loop: 'never', quota_gb: 50, max_size_gb: 20 });
  t.same(c.limits, { max_read_mbps: 200, max_write_mbps: 100.5 });
});

t.test("relative paths in the file resolve against the file's directory, not the cwd", async (t) => {
  const { file } = configFile(t, `data_dir = "data"\n[auth]\ntokens_file = "../tokens.json"\n[store]\npath = "objs"\n[volumes]\ndir = "/abs/vols"\n`);
  const cwd = tempDir(t);
  const etc = join(file, '..');
  const c = loadConfig({ configFile: file }, cwd);
  t.equal(c.data_dir, join(etc, 'data'));
  t.equal(c.auth.tokens_file, join(etc, '..', 'tokens.json'));
  t.equal(c.store.path, join(etc, 'objs'));
  t.equal(c.volumes.dir, '/abs/vols', 'absolute paths are kept');
});

t.test('paths not in the file derive from data_dir', async (t) => {
  const { file } = configFile(t, `data_dir = "data"\n`);
  const etc = join(file, '..');
  const c = loadConfig({ configFile: file }, tempDir(t));
  t.equal(c.auth.tokens_file, join(etc, 'data', 'tokens.json'));
  t.equal(c.store.path, join(etc, 'data', 'objects'));
  t.equal(c.volumes.dir, join(etc, 'data', 'volumes'));
});

t.test('a relative --config resolves against the cwd', async (t) => {
  const { dir } = configFile(t, `log_level = "warn"\n`);
  t.equal(loadConfig({ configFile: 'etc/volbackd.toml' }, dir).log_level, 'warn');
});

t.test('--listen and --data-dir override the file; a relative --data-dir resolves against the cwd', async (t) => {
  const { dir, file } = configFile(t, `listen = "127.0.0.1:1234"\ndata_dir = "/from/file"\n`);
  const c = loadConfig({ configFile: file, listen: '[::1]:9000', dataDir: 'here' }, dir);
  t.same(c.listen, { host: '::1', port: 9000 });
  t.equal(c.data_dir, join(dir, 'here'));
  t.equal(c.store.path, join(dir, 'here', 'objects'), 'derived paths follow the override');
  t.throws(() => loadConfig({ listen: 'nonsense' }, dir), { name: 'ConfigError', message: /--listen must be HOST:PORT \(got "nonsense"\)/ });
});

t.test('parseListen takes HOST:PORT and [IPv6]:PORT', async (t) => {
  t.same(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  t.same(parseListen('[fe80::1]:65535'), { host: 'fe80::1', port: 65535 });
  for (const bad of ['localhost', ':80', '1.2.3.4:65536', '1.2.3.4:', '::1:80', '[::1]9000', 'host:12a', 'a:123456']) {
    t.throws(() => parseListen(bad), { message: `config: listen must be HOST:PORT (got ${JSON.stringify(bad)})` }, bad);
  }
});

t.test('an unknown top-level key is named', async (t) => {
  t.match(errorOf(t, `data_dri = "/x"\n`).message, /^config: unknown key data_dri$/);
});

t.test('an unknown nested key is named with its table', async (t) => {
  t.match(errorOf(t, `[store]\npth = "/x"\n`).message, /^config: unknown key store\.pth$/);
  t.match(errorOf(t, `[storage]\npath = "/x"\n`).message, /unknown key storage/);
});

t.test('a key named like an Object.prototype member is still an unknown key', async (t) => {
  // Without an own-property check these reach the prototype's functions.
  t.match(errorOf(t, `[store]\nconstructor = "x"\n`).message, /unknown key store\.constructor/);
  t.match(errorOf(t, `[backup]\ntoString = "x"\n`).message, /unknown key backup\.toString/);
  t.match(errorOf(t, `toString = "x"\n`).message, /unknown key toString/);
  t.match(errorOf(t, `[constructor]\nname = "x"\n`).message, /unknown key constructor/);
});

t.test('a value of the wrong type is named', async (t) => {
  const cases: Array<[string, RegExp]> = [
    [`data_dir = 5\n`, /^config: data_dir must be a non-empty string$/],
    [`data_dir = ""\n`, /data_dir must be a non-empty string/],
    [`listen = 8776\n`, /listen must be a non-empty string/],
    [`[backup]\nmax_in_flight = "16"\n`, /^config: backup\.max_in_flight must be an integer$/],
    [`[backup]\nchunk_size_mib = 1.5\n`, /backup\.chunk_size_mib must be an integer/],
    [`[limits]\nmax_read_mbps = "fast"\n`, /limits\.max_read_mbps must be a number/],
    [`[limits]\nmax_read_mbps = inf\n`, /limits\.max_read_mbps must be a number/],
    [`[auth]\ntokens_file = ["a"]\n`, /auth\.tokens_file must be a non-empty string/],
    [`store = "fs"\n`, /^config: store must be a table \(\[store\]\)$/],
    [`[[jobs]]\nconcurrency = 1\n`, /jobs must be a table/],
    [`data_dir = 1979-05-27\n`, /data_dir must be a non-empty string/],
  ];
  for (const [toml, re] of cases) t.match(errorOf(t, toml).message, re, JSON.stringify(toml));
});

t.test('a value out of range is named with the range', async (t) => {
  const cases: Array<[string, RegExp]> = [
    [`[backup]\nchunk_size_mib = 65\n`, /^config: backup\.chunk_size_mib must be between 1 and 64$/],
    [`[backup]\nchunk_size_mib = 0\n`, /backup\.chunk_size_mib must be between 1 and 64/],
    [`[jobs]\nconcurrency = 0\n`, /jobs\.concurrency must be between 1 and 64/],
    [`[store]\nconcurrency = 257\n`, /store\.concurrency must be between 1 and 256/],
    [`[limits]\nmax_write_mbps = -1\n`, /limits\.max_write_mbps must be between 0 and 1000000/],
    [`[volumes]\nquota_gb = 2000000000\n`, /volumes\.quota_gb must be between 0 and 1073741824/],
    [`[auth]\ncache_seconds = 3601\n`, /auth\.cache_seconds must be between 0 and 3600/],
  ];
  for (const [toml, re] of cases) t.match(errorOf(t, toml).message, re, JSON.stringify(toml));
});

t.test('a value outside an enum is named with the choices', async (t) => {
  t.match(errorOf(t, `log_level = "verbose"\n`).message, /^config: log_level must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"$/);
  t.match(errorOf(t, `[volumes]\nloop = "sometimes"\n`).message, /volumes\.loop must be one of "auto", "always", "never"/);
  t.match(errorOf(t, `[store]\nauth_version = 3\n`).message, /store\.auth_version must be one of "1", "3"/, 'a number is not the string "3"');
  t.match(errorOf(t, `[auth]\nprovider = "keystone"\n`).message, /auth\.provider must be one of/);
});

t.test('a bad listen address is named', async (t) => {
  t.match(errorOf(t, `listen = "localhost"\n`).message, /^config: listen must be HOST:PORT \(got "localhost"\)$/);
  t.match(errorOf(t, `listen = "127.0.0.1:99999"\n`).message, /listen must be HOST:PORT/);
});

t.test('an unreadable file is named', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'nope.toml');
  t.throws(() => loadConfig({ configFile: missing }, dir), { name: 'ConfigError', message: new RegExp(`^config: cannot read ${missing}: ENOENT`) });
  t.throws(() => loadConfig({ configFile: dir }, dir), { name: 'ConfigError', message: /cannot read .*EISDIR/ }, 'a directory');
});

t.test('invalid TOML is refused with the line number', async (t) => {
  const { dir, file } = configFile(t, `log_level = "info"\n\n[store\npath = "/x"\n`);
  t.throws(() => loadConfig({ configFile: file }, dir), { name: 'ConfigError', message: new RegExp(`^config: ${file} is not valid TOML at line 3, column \\d+: `) });
  const dup = configFile(t, `log_level = "info"\nlog_level = "debug"\n`);
  t.throws(() => loadConfig({ configFile: dup.file }, dup.dir), { message: /is not valid TOML at line 2/ }, 'a repeated key');
});

t.test('a swift store needs storage_url_prefix', async (t) => {
  t.match(errorOf(t, `[store]\ntype = "swift"\nauth_url = "http://a/auth/v1.0"\nuser = "u"\nkey = "k"\n`).message, /store\.storage_url_prefix is required when store\.type = "swift"/);
});

t.test('auth swift needs a swift store', async (t) => {
  t.match(errorOf(t, `[auth]\nprovider = "swift"\n`).message, /auth\.provider = "swift" needs store\.type = "swift"/);
});

t.test('a swift store with static auth needs a service credential', async (t) => {
  const m = errorOf(t, `[store]\ntype = "swift"\nstorage_url_prefix = "http://s/v1/AUTH_"\nauth_url = "http://a/auth/v1.0"\nuser = "u"\n`).message;
  t.match(m, /store\.auth_url, store\.user and store\.key .* are required for auth\.provider = "static" with store\.type = "swift"/);
});

t.test('Keystone v3 needs a project', async (t) => {
  const m = errorOf(t, `[auth]\nprovider = "swift"\n[store]\ntype = "swift"\nstorage_url_prefix = "http://s/v1/AUTH_"\nauth_url = "http://k/v3"\nauth_version = "3"\n`).message;
  t.match(m, /store\.project is required when store\.auth_version = "3"/);
});

t.test('a swift store with swift auth needs no service credential', async (t) => {
  const { dir, file } = configFile(t, `[auth]\nprovider = "swift"\n[store]\ntype = "swift"\nstorage_url_prefix = "http://s/v1/AUTH_"\n`);
  t.equal(loadConfig({ configFile: file }, dir).store.type, 'swift');
});
