// Node arguments that let a child process import this project's .ts sources the
// same way tap's TypeScript loader lets the test itself.
export function tsLoaderArgs(): string[] {
  return process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
}
