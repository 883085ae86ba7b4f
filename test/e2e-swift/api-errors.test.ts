// The same end-to-end tests as test/e2e/api-errors.test.ts, against a real OpenStack
// Swift instead of the filesystem store (the daemon's [store] type = "swift").
process.env.VOLBACKD_E2E_STORE = 'swift';
await import('../e2e/api-errors.test.js');
