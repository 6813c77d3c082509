import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process';

/** A person registers and logs in through the real UI, served by the real gateway, in Chromium. */
describe('UI: register and log in', () => {
  let gw: GatewayProcess;
  let chromium: { browser: Browser; close: () => Promise<void> };
  const email = `person-${Date.now()}@example.com`;
  const password = 'a long enough password';

  beforeAll(async () => {
    gw = await startGatewayProcess();
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await gw?.stop();
    gw?.cleanup();
  });

  /** Console errors of every page (CSP violations and failed loads show up here). */
  const consoleErrors: string[] = [];

  async function newPage(): Promise<Page> {
    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (msg) => {
      // A refused login is an expected 401 response, which Chromium also logs.
      if (msg.type() === 'error' && !/status of 401/.test(msg.text())) consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    return page;
  }

  it('registers a new account and lands on the dashboard', async () => {
    const page = await newPage();
    await page.goto(`${gw.url}/register`);
    // The stylesheet really applies (it is not blocked by our Content-Security-Policy).
    // (A locator waits for the lazily loaded page to render; $eval would not.)
    const buttonColour = await page.locator('button[type=submit]').evaluate((b) => getComputedStyle(b).backgroundColor);
    expect(buttonColour).toBe('rgb(59, 111, 216)');
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.fill('#confirmPassword', password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/dashboard$/);
    expect(await page.textContent('[data-testid=user-email]')).toContain(email);
    expect(await page.textContent('[data-testid=user-role]')).toContain('user');

    // A reload keeps the session (refresh token in storage).
    await page.reload();
    await page.waitForSelector('[data-testid=user-email]');
    expect(await page.textContent('[data-testid=user-email]')).toContain(email);

    await page.click('[data-testid=logout]');
    await page.waitForURL(/\/login/);
    await page.context().close();
  });

  it('shows the server’s error for a wrong password, then logs in', async () => {
    const page = await newPage();
    await page.goto(`${gw.url}/login`);
    await page.fill('#email', email);
    await page.fill('#password', 'not the right password');
    await page.click('button[type=submit]');
    const alert = await page.waitForSelector('[role=alert]');
    expect(await alert.textContent()).toMatch(/incorrect/i);

    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/dashboard$/);
    expect(await page.textContent('[data-testid=user-email]')).toContain(email);
    await page.context().close();
  });

  it('sends a logged-out visitor of the dashboard to the login page', async () => {
    const page = await newPage();
    await page.goto(`${gw.url}/dashboard`);
    await page.waitForURL(/\/login/);
    await page.waitForSelector('#email', { state: 'visible' });
    await page.context().close();
  });

  it('ran without console errors or CSP violations', () => {
    expect(consoleErrors).toEqual([]);
  });
});
