// Headless Chromium for the dashboard's browser tests: Debian's chromium (apt-get install chromium;
// .ci/run does it) driven by playwright-core, whose own browser download does not work here. Each test
// keeps a screenshot in test-artifacts/ (ignored by git). Launch flags from
// ../shared/reference/dashboard-anchors.md section 3.2; a fixed time zone and locale keep pages stable.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './bench.ts';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh context (its own cookies) and page; console errors are collected. */
export async function openPage(browser: Browser, baseURL: string): Promise<{ context: BrowserContext; page: Page; consoleErrors: string[] }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 }, timezoneId: 'UTC', locale: 'en-GB' });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
  return { context, page, consoleErrors };
}

/** Save a screenshot of `page` as test-artifacts/<name>.png. */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Log in through the page's form. */
export async function logIn(page: Page, user: string, password: string): Promise<void> {
  await page.goto('/');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('form.login button');
  await page.waitForSelector('header .who');
}
