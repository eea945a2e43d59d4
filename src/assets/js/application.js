// Progressive enhancement only: every journey works without this file.
import { initAll } from '/assets/js/govuk-frontend.min.js';

initAll();

// An import in progress: look again every two seconds until it finishes.
const progress = document.querySelector('[data-module="app-import-progress"]');
if (progress) {
  setTimeout(() => window.location.reload(), 2000);
}

// Session timeout warning: two minutes before the idle timeout, offer to stay signed in.
const timeoutDialog = document.querySelector('[data-module="app-timeout-warning"]');
if (timeoutDialog && typeof timeoutDialog.showModal === 'function') {
  const idleMs = Number(timeoutDialog.dataset.idleMinutes) * 60 * 1000;
  const warnAfter = Math.max(idleMs - 2 * 60 * 1000, 30 * 1000);
  let timer;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => timeoutDialog.showModal(), warnAfter);
  };
  timeoutDialog.querySelector('[data-action="stay"]').addEventListener('click', async () => {
    const response = await fetch('/session/keep-alive', { credentials: 'same-origin' });
    if (response.ok) {
      timeoutDialog.close();
      schedule();
    } else {
      window.location.href = '/sign-in';
    }
  });
  schedule();
}

// Filter panels start folded away on a small screen (MOJ filter a list), unless a filter is in
// error; without JavaScript they start open and still fold with their own <details> toggle.
for (const panel of document.querySelectorAll('[data-module="app-filter-panel"]')) {
  if (panel.dataset.hasErrors !== 'true' && window.matchMedia('(max-width: 48.0625em)').matches) {
    panel.open = false;
  }
}
