import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { faultRuleSchema } from './faults';
import { readSmallBody, sendJson } from './http';
import type { DriveEmulator } from './server';

const accountSchema = z.object({
  email: z.string().optional(),
  displayName: z.string().optional(),
  quotaLimit: z.number().int().min(0).nullable().optional(),
  usage: z.number().int().min(0).optional(),
  clientId: z.string().optional(),
  refreshToken: z.string().min(1).optional(),
});
const quotaSchema = z.object({ quotaLimit: z.number().int().min(0).nullable().optional(), usage: z.number().int().min(0).optional() });
const consentSchema = accountSchema.extend({ deny: z.boolean().optional() });
const clientSchema = z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1) });
const revokeSchema = z.object({ refreshToken: z.string().min(1) });
const expireTokensSchema = z.object({ accountId: z.string().optional() });
const expireSessionsSchema = z.object({ accountId: z.string().optional(), sessionId: z.string().optional() });

/** Drops undefined members, so optional inputs stay absent rather than explicitly undefined. */
function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/**
 * The control API under `/__emulator/`, so a test in another process (the
 * gateway's e2e tests, a developer with curl) can do what the programmatic
 * API does. Unauthenticated: the emulator is a local test tool.
 *
 *   GET    /__emulator/stats                     counters, faults, accounts
 *   GET    /__emulator/log                       recent requests
 *   GET    /__emulator/faults                    active fault rules
 *   POST   /__emulator/faults                    add a FaultRule → 201 {id}
 *   DELETE /__emulator/faults                    clear them → 204
 *   GET    /__emulator/accounts                  accounts
 *   POST   /__emulator/accounts                  AccountOptions → 201 credentials
 *   PATCH  /__emulator/accounts/{id}             {quotaLimit?, usage?}
 *   GET    /__emulator/accounts/{id}/files       the account's files
 *   GET    /__emulator/accounts/{id}/sessions    its upload sessions
 *   GET    /__emulator/files/{id}/content        a stored file's bytes
 *   POST   /__emulator/clients                   {clientId, clientSecret}
 *   POST   /__emulator/consent                   queue the next consent (AccountOptions + deny?)
 *   POST   /__emulator/refresh-tokens/revoke     {refreshToken}
 *   POST   /__emulator/access-tokens/expire      {accountId?}
 *   POST   /__emulator/sessions/expire           {accountId?, sessionId?}
 */
export async function handleControl(emu: DriveEmulator, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname.replace(/^\/__emulator/, '');
  const method = req.method ?? 'GET';
  const json = async (): Promise<unknown> => {
    const text = (await readSmallBody(req)).toString('utf8').trim();
    return text === '' ? {} : (JSON.parse(text) as unknown);
  };
  const notFound = () => sendJson(res, 404, { error: `No control route ${method} ${url.pathname}` });

  try {
    if (method === 'GET' && path === '/stats') return sendJson(res, 200, emu.stats());
    if (method === 'GET' && path === '/log') return sendJson(res, 200, emu.log());
    if (path === '/faults') {
      if (method === 'GET') return sendJson(res, 200, emu.stats().faults);
      if (method === 'POST') return sendJson(res, 201, { id: emu.injectFault(faultRuleSchema.parse(await json())) });
      if (method === 'DELETE') {
        emu.clearFaults();
        res.writeHead(204).end();
        return;
      }
    }
    if (path === '/accounts') {
      if (method === 'GET') return sendJson(res, 200, emu.stats().accounts);
      if (method === 'POST') return sendJson(res, 201, emu.addAccount(defined(accountSchema.parse(await json()))));
    }
    const account = /^\/accounts\/([^/]+)(\/files|\/sessions)?$/.exec(path);
    if (account) {
      const id = decodeURIComponent(account[1]!);
      if (!emu.account(id)) return sendJson(res, 404, { error: `No account ${id}` });
      if (method === 'GET' && account[2] === '/files') return sendJson(res, 200, emu.files(id));
      if (method === 'GET' && account[2] === '/sessions') return sendJson(res, 200, emu.sessions(id));
      if (method === 'GET' && account[2] === undefined) return sendJson(res, 200, emu.account(id));
      if (method === 'PATCH' && account[2] === undefined) {
        emu.setQuota(id, defined(quotaSchema.parse(await json())));
        return sendJson(res, 200, emu.account(id));
      }
    }
    const content = /^\/files\/([^/]+)\/content$/.exec(path);
    if (content && method === 'GET') {
      const file = emu.file(decodeURIComponent(content[1]!));
      if (!file) return sendJson(res, 404, { error: 'No such file' });
      const stream = emu.openFile(file.id);
      res.writeHead(200, { 'Content-Type': file.mimeType, 'Content-Length': String(file.size) });
      stream.pipe(res);
      return;
    }
    if (method === 'POST' && path === '/clients') {
      const { clientId, clientSecret } = clientSchema.parse(await json());
      emu.registerClient(clientId, clientSecret);
      res.writeHead(204).end();
      return;
    }
    if (method === 'POST' && path === '/consent') {
      emu.queueConsent(defined(consentSchema.parse(await json())));
      res.writeHead(204).end();
      return;
    }
    if (method === 'POST' && path === '/refresh-tokens/revoke') {
      return sendJson(res, 200, { revoked: emu.revokeRefreshToken(revokeSchema.parse(await json()).refreshToken) });
    }
    if (method === 'POST' && path === '/access-tokens/expire') {
      return sendJson(res, 200, { expired: emu.expireAccessTokens(expireTokensSchema.parse(await json()).accountId) });
    }
    if (method === 'POST' && path === '/sessions/expire') {
      return sendJson(res, 200, { expired: emu.expireSessions(defined(expireSessionsSchema.parse(await json()))) });
    }
    return notFound();
  } catch (err) {
    if (err instanceof z.ZodError) return sendJson(res, 400, { error: 'Invalid request', issues: err.issues });
    if (err instanceof SyntaxError) return sendJson(res, 400, { error: 'Invalid JSON' });
    return sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
  }
}
