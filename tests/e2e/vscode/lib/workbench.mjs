// Small helpers for driving the VS Code workbench (in code-server) with
// playwright-core. Every wait is bounded and fails with a message saying
// what was awaited.

export const isMac = process.platform === 'darwin';

export async function sleep(ms) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a truthy value; throws `what` on timeout. */
export async function waitUntil(probe, { timeout = 30_000, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  let lastValue;
  while (Date.now() < deadline) {
    try {
      lastValue = await probe();
      if (lastValue) {
        return lastValue;
      }
    } catch (error) {
      lastError = error;
    }
    await sleep(interval);
  }
  const suffix = lastError ? ` (last error: ${lastError.message ?? lastError})` : '';
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${suffix}`);
}

export async function waitForWorkbench(page, timeout = 90_000) {
  await page.waitForSelector('.monaco-workbench', { timeout });
  // The explorer (or any part) rendering tells that the workbench finished restoring.
  await page.waitForSelector('.part.sidebar, .part.editor', { timeout });
}

/** Opens the command palette, picks the command whose label is exactly `label`. */
export async function runCommand(page, label, { timeout = 20_000 } = {}) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout });
  await input.fill(`>${label}`);
  const row = page
    .locator('.quick-input-widget .quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: label }) });
  await waitUntil(
    async () => {
      const count = await row.count();
      for (let i = 0; i < count; i++) {
        const text = (await row.nth(i).locator('.label-name').innerText()).replace(/\s+/g, ' ').trim();
        if (text === label) {
          return true;
        }
      }
      return false;
    },
    { timeout, what: `command palette entry "${label}"` },
  );
  const count = await row.count();
  for (let i = 0; i < count; i++) {
    const text = (await row.nth(i).locator('.label-name').innerText()).replace(/\s+/g, ' ').trim();
    if (text === label) {
      await row.nth(i).click();
      break;
    }
  }
  await input.waitFor({ state: 'hidden', timeout }).catch(() => undefined);
  await sleep(200); // let the command start before the next keystrokes
}

/** Describes modal state that swallows keys (dialogs, open quick inputs), for error messages. */
export async function uiState(page) {
  return page.evaluate(() => ({
    dialog: document.querySelector('.monaco-dialog-box')?.textContent?.slice(0, 200) ?? null,
    quickInput: !!document.querySelector('.quick-input-widget:not([style*="display: none"])'),
    activeTab: document.querySelector('.part.editor .tab.active')?.getAttribute('aria-label') ?? null,
    focused: document.activeElement?.className?.toString().slice(0, 80) ?? null,
  }));
}

/** Closes a modal dialog, if one is open, with its Cancel/"Don't Save" choice as given. */
export async function dismissDialog(page, buttonText = 'Cancel') {
  const button = page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: buttonText });
  if ((await button.count()) > 0) {
    await button.first().click();
  }
}

/** Quick Open (Ctrl+P) a workspace file by name. */
export async function openFile(page, name, { timeout = 20_000 } = {}) {
  if ((await activeTabLabel(page)) === name) {
    return;
  }
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await waitUntil(
    async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press(isMac ? 'Meta+P' : 'Control+P');
      return input.waitFor({ state: 'visible', timeout: 3000 }).then(
        () => true,
        () => false,
      );
    },
    { timeout, interval: 500, what: `Quick Open for ${name}` },
  );
  await input.fill(name);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ state: 'visible', timeout });
  await row.click();
  await waitUntil(async () => (await activeTabLabel(page)) === name, {
    timeout,
    what: `editor tab ${name} (ui: ${JSON.stringify(await uiState(page))})`,
  });
  await page.locator('.part.editor .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout });
}

export async function activeTabLabel(page) {
  return page.evaluate(() => {
    const tab = document.querySelector('.part.editor .editor-group-container.active .tab.active')
      ?? document.querySelector('.part.editor .tab.active');
    return tab ? tab.getAttribute('data-resource-name') ?? tab.getAttribute('aria-label') : undefined;
  });
}

/** aria-labels of all editor tabs. */
export async function tabLabels(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.part.editor .tab')].map((tab) => tab.getAttribute('aria-label') ?? ''),
  );
}

/** The visible lines of the active text editor, in order (Monaco renders only what is visible). */
export async function editorLines(page) {
  return page.evaluate(() => {
    const editor = document.querySelector('.part.editor .editor-group-container.active .monaco-editor')
      ?? document.querySelector('.part.editor .monaco-editor');
    if (!editor) {
      return [];
    }
    const lines = [...editor.querySelectorAll('.view-lines .view-line')];
    return lines
      .map((line) => ({ top: parseFloat(line.style.top || '0'), text: line.textContent.replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text);
  });
}

/**
 * Colour of the first rendered token whose text is exactly `text` in the
 * active editor (null if none).
 */
export async function tokenColor(page, text) {
  return page.evaluate((wanted) => {
    const spans = [...document.querySelectorAll('.part.editor .monaco-editor .view-lines .view-line span span')];
    const text = (s) => s.textContent.replace(/\u00a0/g, ' ');
    // Monaco splits long tokens into several spans: accept a prefix match too.
    const span = spans.find((s) => text(s) === wanted) ?? spans.find((s) => text(s).startsWith(wanted));
    return span ? getComputedStyle(span).color : null;
  }, text);
}

/** Bounding box centre of a rendered token (for hovering/clicking). */
export async function tokenBox(page, text) {
  return page.evaluate((wanted) => {
    const spans = [...document.querySelectorAll('.part.editor .monaco-editor .view-lines .view-line span span')];
    const span = spans.find((s) => s.textContent.replace(/\u00a0/g, ' ').includes(wanted));
    if (!span) {
      return null;
    }
    const r = span.getBoundingClientRect();
    const full = span.textContent.replace(/\u00a0/g, ' ');
    const index = full.indexOf(wanted);
    const charWidth = r.width / Math.max(1, full.length);
    const left = r.left + index * charWidth;
    return { x: left + (wanted.length * charWidth) / 2, y: r.top + r.height / 2, left, right: left + wanted.length * charWidth };
  }, text);
}

/** Visible notification toasts: [{ message, buttons }]. */
export async function notifications(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.notifications-toasts .notification-toast')].map((toast) => ({
      message: toast.querySelector('.notification-list-item-message')?.textContent ?? '',
      source: toast.querySelector('.notification-list-item-source')?.textContent ?? '',
      buttons: [...toast.querySelectorAll('.notification-list-item-buttons-container .monaco-button')].map(
        (b) => b.textContent.trim(),
      ),
      progress: !!toast.querySelector('.monaco-progress-container.active, .monaco-progress-container.infinite'),
    })),
  );
}

export async function waitForNotification(page, pattern, { timeout = 30_000 } = {}) {
  return waitUntil(
    async () => (await notifications(page)).find((n) => pattern.test(n.message)),
    { timeout, what: `a notification matching ${pattern}` },
  );
}

export async function clickNotificationButton(page, messagePattern, buttonText, { timeout = 10_000 } = {}) {
  const toast = page.locator('.notifications-toasts .notification-toast').filter({
    has: page.locator('.notification-list-item-message', { hasText: messagePattern }),
  });
  const button = toast.locator('.notification-list-item-buttons-container .monaco-button', { hasText: buttonText }).first();
  await button.waitFor({ state: 'visible', timeout });
  await button.click();
}

export async function clearNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications').catch(() => undefined);
}

/** Text of the visible lines of the editor in the panel (Output view). */
export async function panelEditorText(page) {
  return page.evaluate(() => {
    const editor = document.querySelector('.part.panel .monaco-editor');
    if (!editor) {
      return '';
    }
    return [...editor.querySelectorAll('.view-lines .view-line')]
      .map((line) => ({ top: parseFloat(line.style.top || '0'), text: line.textContent.replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text)
      .join('\n');
  });
}

/** Name of the output channel selected in the Output view. */
export async function selectedOutputChannel(page) {
  return page.evaluate(() => {
    const panel = document.querySelector('.part.panel');
    if (!panel) {
      return null;
    }
    const select = panel.querySelector('select.monaco-select-box');
    if (select && select.selectedIndex >= 0) {
      return select.options[select.selectedIndex].text;
    }
    const label = panel.querySelector('.monaco-select-box, .output-channel-switcher');
    return label ? label.textContent : null;
  });
}

export async function problems(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.markers-panel .monaco-list-row')].map((row) => row.getAttribute('aria-label') ?? row.textContent),
  );
}

export async function visibleHoverText(page) {
  return page.evaluate(() => {
    const hovers = [...document.querySelectorAll('.monaco-hover')].filter((h) => {
      const r = h.getBoundingClientRect();
      return !h.classList.contains('hidden') && r.width > 0 && r.height > 0;
    });
    return hovers.map((h) => h.textContent).join('\n');
  });
}

export async function suggestions(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.suggest-widget.visible .monaco-list-row')].map((row) =>
      (row.querySelector('.label-name')?.textContent ?? row.getAttribute('aria-label') ?? '').trim(),
    ),
  );
}

export async function actionWidgetItems(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.action-widget .monaco-list-row')].map((row) => row.textContent.trim()),
  );
}

export async function codeLenses(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.part.editor .monaco-editor .codelens-decoration a, .part.editor .monaco-editor .codelens-decoration span')]
      .map((a) => a.textContent.trim())
      .filter(Boolean),
  );
}

/**
 * Sets a string setting through the Settings editor, in the given scope tab
 * ("User", "Remote", "Workspace"), the way a user would. `written` is polled
 * (e.g. reads the settings file) until it reports the new value.
 */
export async function setStringSetting(page, { search, title, value, scope = 'User', written, timeout = 30_000 }) {
  await runCommand(page, 'Preferences: Open Settings (UI)');
  const header = page.locator('.settings-editor .settings-header');
  await header.waitFor({ state: 'visible', timeout });
  await sleep(500);
  await page.keyboard.press('Control+A');
  await page.keyboard.type(search);
  const tab = page.locator('.settings-editor .settings-tabs-widget .action-label', { hasText: scope }).first();
  await tab.waitFor({ state: 'visible', timeout });
  await tab.click();
  await waitUntil(
    async () => {
      const input = page.locator('.settings-editor .setting-item', { hasText: title }).locator('input').first();
      if ((await input.count()) === 0) {
        return false;
      }
      if ((await input.inputValue()) !== value) {
        await input.fill(value);
        await page.keyboard.press('Tab');
      }
      await sleep(500);
      return written ? written() : true;
    },
    { timeout, interval: 500, what: `the ${scope} setting "${search}" to be saved as ${value}` },
  );
  await page.keyboard.press('Escape');
  await sleep(300);
  // The settings editor may be a modal or a tab depending on the VS Code version.
  if ((await page.locator('.settings-editor').count()) > 0 && (await page.locator('.settings-editor').first().isVisible())) {
    await runCommand(page, 'View: Close Editor').catch(() => undefined);
  }
}
