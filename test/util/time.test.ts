// isoSeconds: timestamps as the API and manifests show them.
import t from 'tap';
import { isoSeconds } from '../../src/util/time.js';

t.test('UTC, whole seconds, with a Z', async (t) => {
  t.equal(isoSeconds(new Date(Date.UTC(2012, 8, 3, 22, 0, 0, 999))), '2012-09-03T22:00:00Z');
  t.equal(isoSeconds(new Date(Date.UTC(2026, 0, 1, 0, 0, 1, 0))), '2026-01-01T00:00:01Z');
  t.match(isoSeconds(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'now');
});
