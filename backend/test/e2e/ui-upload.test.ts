import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process';
import { tempDir } from '../support/temp';

const MiB = 1024 * 1024;

/**
 * Uploads through the real dashboard (file input → initiate → the WebSocket
 * protocol → the embedded local pool member) and the admin console's storage
 * accounts page, against the built gateway in Chromium.
 */
describe('UI: upload files, manage storage accounts', () => {
  let gw: GatewayProcess;
  let chromium: { browser: Browser; close: () => Promise<void> };
  let files: { dir: string; cleanup: () => void };
  const admin = { email: 'admin@example.com', password: 'an admin password' };
  const user = { email: `uploader-${Date.now()}@example.com`, password: 'a long enough password' };
  /** 9.5 MiB: two full 4 MiB chunks and a short last one. Fixed bytes, so every run sends the same. */
  const big = Buffer.alloc(9.5 * MiB);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 11)) & 0xff;
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  beforeAll(async () => {
    // Handed to the browser by path: a buffer would cross the DevTools protocol as base64, which takes seconds.
    files = tempDir('ddx-e2e-files-');
    fs.writeFileSync(path.join(files.dir, 'big.bin'), big);
    fs.writeFileSync(path.join(files.dir, 'empty.txt'), '');
    gw = await startGatewayProcess({ ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await gw?.stop();
    gw?.cleanup();
    files?.cleanup();
  });

  const consoleErrors: string[] = [];

  async function newPage(): Promise<Page> {
    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    return page;
  }

  async function logIn(page: Page, who: { email: string; password: string }): Promise<void> {
    await page.goto(`${gw.url}/login`);
    await page.fill('#email', who.email);
    await page.fill('#password', who.password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/dashboard$/);
  }

  it('a new user uploads a 9.5 MiB file and an empty one, and sees both complete with the right SHA-256', async () => {
    const page = await newPage();
    await page.goto(`${gw.url}/register`);
    await page.fill('#email', user.email);
    await page.fill('#password', user.password);
    await page.fill('#confirmPassword', user.password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/dashboard$/);
    expect(await page.textContent('[data-testid=storage]')).toBe('0 B of 10 GiB used (0%)');

    await page.setInputFiles('[data-testid=upload-input]', [path.join(files.dir, 'big.bin'), path.join(files.dir, 'empty.txt')]);
    // Both rows reach an end state (a failure shows at once instead of after a timeout).
    await page.waitForFunction(() => {
      const rows = Array.from(document.querySelectorAll('[data-testid=upload-row]'));
      return rows.length === 2 && rows.every((r) => /^(complete|failed|cancelled)$/.test(r.getAttribute('data-phase') ?? ''));
    });
    const row = (name: string) => page.locator('[data-testid=upload-row]', { hasText: name });
    for (const [name, data] of [
      ['big.bin', big],
      ['empty.txt', Buffer.alloc(0)],
    ] as const) {
      expect(await row(name).locator('[data-testid=upload-error]').count(), `${name} failed`).toBe(0);
      expect(await row(name).getAttribute('data-phase')).toBe('complete');
      expect(await row(name).locator('[data-testid=upload-state]').textContent()).toBe('Complete');
      expect(await row(name).locator('[data-testid=upload-sha256]').textContent()).toBe(sha256(data));
    }
    // The dashboard re-reads the usage once the uploads settle.
    await page.waitForFunction(
      () => document.querySelector('[data-testid=storage]')?.textContent === '9.5 MiB of 10 GiB used (<1%)',
    );
    // The bytes really are on the embedded local member's disk.
    const objects = path.join(gw.dataDir, 'storage', 'objects');
    const stored = fs.readdirSync(objects).map((f) => fs.readFileSync(path.join(objects, f)));
    expect(stored.map(sha256).sort()).toEqual([sha256(big), sha256(Buffer.alloc(0))].sort());

    // Not an admin: no link to the console, and the page itself sends them back.
    expect(await page.locator('[data-testid=nav-admin-accounts]').count()).toBe(0);
    await page.goto(`${gw.url}/admin/accounts`);
    await page.waitForURL(/\/dashboard$/);
    await page.context().close();
  });

  it('an admin sees the local member, adds a second local directory and disables it', async () => {
    const page = await newPage();
    await logIn(page, admin);
    await page.click('[data-testid=nav-admin-accounts]');
    await page.waitForURL(/\/admin\/accounts$/);

    const row = (name: string) =>
      page.locator('[data-testid=account-row]', { has: page.locator('[data-testid=account-name]', { hasText: name }) });
    const embedded = row('Local disk');
    await embedded.waitFor();
    expect(await embedded.locator('[data-testid=account-provider]').textContent()).toBe('Local disk');
    expect(await embedded.textContent()).toContain(path.join(gw.dataDir, 'storage'));
    expect(await embedded.locator('[data-testid=account-health]').textContent()).toBe('healthy');
    expect(await embedded.locator('[data-testid=account-state]').textContent()).toBe('Enabled');

    const second = path.join(gw.dataDir, 'second-disk');
    await page.selectOption('#account-provider', 'local');
    await page.fill('#account-name', 'Second disk');
    await page.fill('#local-path', second);
    await page.click('[data-testid=add-account-form] button[type=submit]');
    await row('Second disk').waitFor();
    expect(await page.textContent('[data-testid=notice]')).toContain('Added “Second disk”.');
    expect(await row('Second disk').textContent()).toContain(second);
    expect(fs.existsSync(second)).toBe(true);

    await page.getByRole('button', { name: 'Disable Second disk' }).click();
    await page.getByRole('button', { name: 'Enable Second disk' }).waitFor();
    expect(await row('Second disk').locator('[data-testid=account-state]').textContent()).toBe('Disabled');

    // The server keeps it: a fresh load shows the same.
    await page.reload();
    await row('Second disk').waitFor();
    expect(await row('Second disk').locator('[data-testid=account-state]').textContent()).toBe('Disabled');
    expect(await row('Local disk').locator('[data-testid=account-state]').textContent()).toBe('Enabled');
    await page.context().close();
  });

  it('ran without console errors or CSP violations', () => {
    expect(consoleErrors).toEqual([]);
  });
});
