// volback: the command-line client. It talks to a volbackd over HTTP only, with
// the same API and tokens as any other client.
import { parseArgs } from 'node:util';

export const USAGE = `usage: volback [--url URL] [--token TOKEN] [--tenant TENANT] COMMAND [ARGS]

  volumes                         list volumes (detail)
  volume-create SIZE_GB [NAME]    create a volume
  volume-show ID | volume-delete ID
  backups                         list backups (detail)
  backup-create VOLUME_ID [NAME] [--container C]
  backup-show ID | backup-delete ID
  restore BACKUP_ID [VOLUME_ID]   restore to a volume, or to a new one
  wait-backup ID | wait-volume ID wait until the status settles

Defaults: --url $VOLBACK_URL or http://127.0.0.1:8776, --token $VOLBACK_TOKEN,
--tenant $VOLBACK_TENANT. Prints the API's JSON answer; exits 1 on an error answer.`;

interface Ctx {
  url: string;
  token: string;
  tenant: string;
}

async function call(c: Ctx, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${c.url}/v1.1/${encodeURIComponent(c.tenant)}${path}`, {
    method,
    headers: { 'X-Auth-Token': c.token, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}

async function waitFor(c: Ctx, path: string, key: 'backup' | 'volume', busy: string[]): Promise<{ status: number; json: unknown }> {
  for (;;) {
    const r = await call(c, 'GET', path);
    const status = (r.json as Record<string, { status?: string }> | null)?.[key]?.status;
    if (r.status !== 200 || !status || !busy.includes(status)) return r;
    await new Promise((res) => setTimeout(res, 500));
  }
}

export async function run(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      tenant: { type: 'string' },
      container: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  const [cmd, a, b] = positionals;
  if (values.help || !cmd) {
    out(USAGE + '\n');
    return cmd ? 0 : 2;
  }
  const c: Ctx = {
    url: (values.url ?? process.env.VOLBACK_URL ?? 'http://127.0.0.1:8776').replace(/\/$/, ''),
    token: values.token ?? process.env.VOLBACK_TOKEN ?? '',
    tenant: values.tenant ?? process.env.VOLBACK_TENANT ?? '',
  };
  if (!c.token || !c.tenant) {
    out('volback: --token and --tenant (or VOLBACK_TOKEN and VOLBACK_TENANT) are required\n');
    return 2;
  }
  const need = (v: string | undefined, what: string): string => {
    if (!v) throw new Error(`${cmd} needs ${what}`);
    return v;
  };
  let r: { status: number; json: unknown };
  switch (cmd) {
    case 'volumes':
      r = await call(c, 'GET', '/os-volumes/detail');
      break;
    case 'volume-create':
      r = await call(c, 'POST', '/os-volumes', { volume: { size: Number(need(a, 'SIZE_GB')), ...(b ? { display_name: b } : {}) } });
      break;
    case 'volume-show':
      r = await call(c, 'GET', `/os-volumes/${need(a, 'ID')}`);
      break;
    case 'volume-delete':
      r = await call(c, 'DELETE', `/os-volumes/${need(a, 'ID')}`);
      break;
    case 'backups':
      r = await call(c, 'GET', '/hp-volume-backups/detail');
      break;
    case 'backup-create':
      r = await call(c, 'POST', '/hp-volume-backups', {
        backup: { volume_id: need(a, 'VOLUME_ID'), ...(b ? { display_name: b } : {}), ...(values.container ? { container: values.container } : {}) },
      });
      break;
    case 'backup-show':
      r = await call(c, 'GET', `/hp-volume-backups/${need(a, 'ID')}`);
      break;
    case 'backup-delete':
      r = await call(c, 'DELETE', `/hp-volume-backups/${need(a, 'ID')}`);
      break;
    case 'restore':
      r = await call(c, 'POST', `/hp-volume-backups/${need(a, 'BACKUP_ID')}/restore`, { restore: b ? { volume_id: b } : {} });
      break;
    case 'wait-backup':
      r = await waitFor(c, `/hp-volume-backups/${need(a, 'ID')}`, 'backup', ['creating', 'restoring', 'deleting']);
      break;
    case 'wait-volume':
      r = await waitFor(c, `/os-volumes/${need(a, 'ID')}`, 'volume', ['creating', 'backing-up', 'restoring-backup', 'deleting']);
      break;
    default:
      out(`volback: unknown command ${cmd}\n${USAGE}\n`);
      return 2;
  }
  out(r.json === null ? `${r.status}\n` : JSON.stringify(r.json, null, 2) + '\n');
  return r.status >= 400 ? 1 : 0;
}
