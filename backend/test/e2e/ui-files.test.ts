import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process';
import { tempDir } from '../support/temp';

/**
 * "My files" on the dashboard and the public share page, against the built
 * gateway in Chromium: upload → listed → download (bytes compared) → preview →
 * a password share link opened by a stranger in a fresh, signed-out context →
 * delete, after which the file and its link are gone.
 */
describe('UI: my files, downloads, share links', () => {
  let gw: GatewayProcess;
  let chromium: { browser: Browser; close: () => Promise<void> };
  let files: { dir: string; cleanup: () => void };
  const admin = { email: 'admin@example.com', password: 'an admin password' };
  const user = { email: `sharer-${Date.now()}@example.com`, password: 'a long enough password' };
  const name = 'field notes.txt';
  /** 70,000 bytes of printable text, different at every offset, so a preview can be compared as text. */
  const content = Buffer.from(
    Array.from({ length: 70_000 }, (_, i) => String.fromCharCode(33 + ((i * 7 + (i >>> 8)) % 94))).join(''),
    'latin1',
  );
  const linkPassword = 'correct horse battery';

  beforeAll(async () => {
    files = tempDir('ddx-e2e-files-');
    fs.writeFileSync(path.join(files.dir, name), content);
    gw = await startGatewayProcess({ ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await gw?.stop();
    gw?.cleanup();
    files?.cleanup();
  });

  /** Console errors and uncaught exceptions of every page (CSP violations are console errors). */
  const consoleErrors: string[] = [];

  async function newPage(): Promise<Page> {
    const context = await chromium.browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    return page;
  }

  const bytesOf = async (download: Download): Promise<Buffer> => fs.readFileSync((await download.path())!);

  let owner: Page;
  let shareUrl: string;

  it('lists an uploaded file, downloads the same bytes and previews it in a new tab', async () => {
    owner = await newPage();
    await owner.goto(`${gw.url}/register`);
    await owner.fill('#email', user.email);
    await owner.fill('#password', user.password);
    await owner.fill('#confirmPassword', user.password);
    await owner.click('button[type=submit]');
    await owner.waitForURL(/\/dashboard$/);
    await owner.locator('[data-testid=files-empty]').waitFor();

    await owner.setInputFiles('[data-testid=upload-input]', path.join(files.dir, name));
    // The list refreshes by itself once the upload completes: no reload.
    const row = owner.locator('[data-testid=file-row]', { has: owner.locator('[data-testid=file-name]', { hasText: name }) });
    await row.waitFor();
    expect(await owner.locator('[data-testid=upload-row]').getAttribute('data-phase')).toBe('complete');
    expect(await owner.locator('[data-testid=file-row]').count()).toBe(1);
    expect(await row.locator('[data-testid=file-size]').textContent()).toBe('68.4 KiB');
    expect(await row.locator('[data-testid=file-backup]').textContent()).toBe('No backup configured');

    const [download] = await Promise.all([owner.waitForEvent('download'), row.getByRole('button', { name: `Download ${name}` }).click()]);
    expect(download.suggestedFilename()).toBe(name);
    expect((await bytesOf(download)).equals(content)).toBe(true);

    const [preview] = await Promise.all([
      owner.context().waitForEvent('page'),
      row.getByRole('button', { name: `Preview ${name} in a new tab` }).click(),
    ]);
    await preview.waitForLoadState();
    expect(preview.url()).toMatch(new RegExp(`^${gw.url}/api/v1/download/preview/stream/[0-9a-f-]+\\?ticket=`));
    expect(await preview.evaluate(() => document.body.innerText)).toBe(content.toString('latin1'));
    await preview.close();
  });

  it('creates a password link that a signed-out stranger unlocks to download the same bytes', async () => {
    const row = owner.locator('[data-testid=file-row]', { hasText: name });
    await row.getByRole('button', { name: `Share ${name}` }).click();
    const dialog = owner.locator('[data-testid=share-dialog]');
    await dialog.waitFor();
    await owner.selectOption('#share-expiry', { label: '1 day' });
    await owner.fill('#share-password', linkPassword);
    await dialog.locator('button[type=submit]').click();
    const urlField = owner.locator('[data-testid=share-url]');
    await urlField.waitFor();
    shareUrl = await urlField.inputValue();
    const { pathname } = new URL(shareUrl);
    expect(pathname).toMatch(/^\/s\/[A-Za-z0-9_-]{43}$/);
    // The gateway's PUBLIC_URL defaults to localhost:<PORT>, and PORT is 0 here: open the same path on the real address.
    shareUrl = `${gw.url}${pathname}`;
    const listed = dialog.locator('[data-testid=share-link]');
    await listed.first().waitFor();
    expect(await listed.count()).toBe(1);
    expect(await listed.first().getAttribute('data-state')).toBe('active');
    expect(await listed.first().textContent()).toContain('password');

    const stranger = await newPage();
    await stranger.goto(shareUrl);
    await stranger.locator('[data-testid=share-name]').waitFor();
    expect(await stranger.textContent('[data-testid=share-name]')).toBe(name);
    expect(await stranger.textContent('[data-testid=share-size]')).toBe('68.4 KiB');
    expect(await stranger.locator('[data-testid=logout]').count()).toBe(0);
    // No download button before the password.
    expect(await stranger.locator('[data-testid=share-download]').count()).toBe(0);

    await stranger.fill('#link-password', 'not the password');
    await stranger.click('[data-testid=unlock-form] button[type=submit]');
    await stranger.locator('[data-testid=unlock-error]').waitFor();
    expect(await stranger.textContent('[data-testid=unlock-error]')).toContain('The password is wrong');

    await stranger.fill('#link-password', linkPassword);
    const [download] = await Promise.all([
      stranger.waitForEvent('download'),
      stranger.click('[data-testid=unlock-form] button[type=submit]'),
    ]);
    expect(download.suggestedFilename()).toBe(name);
    expect((await bytesOf(download)).equals(content)).toBe(true);
    // Once unlocked, the same page downloads again without asking.
    const [again] = await Promise.all([stranger.waitForEvent('download'), stranger.click('[data-testid=share-download]')]);
    expect((await bytesOf(again)).equals(content)).toBe(true);
    await stranger.context().close();
  });

  it('deletes the file after a confirmation: gone from the list, its space freed, its link dead', async () => {
    await owner.click('[data-testid=share-close]');
    await owner.waitForFunction(() => document.querySelector('[data-testid=storage]')?.textContent?.startsWith('68.4 KiB of'));
    const row = owner.locator('[data-testid=file-row]', { hasText: name });
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await owner.locator('[data-testid=delete-confirm]').waitFor();
    await owner.click('[data-testid=delete-confirm-yes]');
    await owner.locator('[data-testid=files-empty]').waitFor();
    expect(await owner.locator('[data-testid=file-row]').count()).toBe(0);
    expect(await owner.textContent('[data-testid=files-notice]')).toBe(`Deleted “${name}”.`);
    await owner.waitForFunction(() => document.querySelector('[data-testid=storage]')?.textContent === '0 B of 10 GiB used (0%)');
    // Still gone after a reload: the server forgot it.
    await owner.reload();
    await owner.locator('[data-testid=files-empty]').waitFor();

    const late = await newPage();
    await late.goto(shareUrl);
    await late.locator('[data-testid=share-problem]').waitFor();
    expect(await late.textContent('[data-testid=share-problem]')).toBe('Link not found');
    await late.context().close();
    await owner.context().close();
  });

  it('an admin sees the backup summary and is told why nothing can be backed up without a target', async () => {
    const page = await newPage();
    await page.goto(`${gw.url}/login`);
    await page.fill('#email', admin.email);
    await page.fill('#password', admin.password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/dashboard$/);
    await page.click('[data-testid=nav-admin-backups]');
    await page.waitForURL(/\/admin\/backups$/);
    await page.locator('[data-testid=backup-summary]').waitFor();
    // The deleted file no longer counts; nothing else was uploaded.
    for (const state of ['pending', 'running', 'done', 'failed', 'disabled']) {
      expect(await page.textContent(`[data-testid=summary-${state}]`), state).toBe('0');
    }
    await page.locator('[data-testid=backups-empty]').waitFor();
    await page.click('[data-testid=run-missing]');
    await page.locator('[data-testid=notice][role=alert]').waitFor();
    expect(await page.textContent('[data-testid=notice]')).toContain('No backup target is configured');
    await page.context().close();
  });

  it('ran without CSP violations or errors other than the expected refusals', () => {
    // Chromium logs every 4xx answer as a console error; the only ones expected are the wrong password, the dead link
    // and the refused run-missing without a backup target.
    const expected = /^Failed to load resource: the server responded with a status of (401 \(Unauthorized\)|404 \(Not Found\)|409 \(Conflict\))$/;
    expect(consoleErrors.filter((e) => !expected.test(e))).toEqual([]);
    expect(consoleErrors.filter((e) => e.includes('401'))).toHaveLength(1);
  });
});
