// Autosave for the audit form (progressive enhancement: without it, each Continue saves).
// While typing pauses, the page is posted as the Continue button would post it, answered in
// JSON. The form's version moves on with each save, so a save from another tab is refused.
const form = document.querySelector('form[data-module="app-autosave"]');
const status = form?.querySelector('[data-autosave-status]');
const PAUSE_MS = 2000;

if (form && status && window.fetch && window.FormData) {
  let timer;
  let saving = false;
  /** The save in flight, so Continue can wait for it and carry the version it produced. */
  let inFlight = null;
  let again = false;
  let stale = false;

  const say = (text) => {
    status.textContent = text;
  };

  const save = () => {
    if (saving) {
      again = true;
      return inFlight;
    }
    inFlight = saveNow().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  const saveNow = async () => {
    if (stale) return;
    saving = true;
    const data = new URLSearchParams(new FormData(form));
    data.set('_autosave', '1');
    data.delete('_action');
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        body: data,
        credentials: 'same-origin',
        headers: { accept: 'application/json' },
      });
      const result = await response.json().catch(() => ({}));
      if (response.ok && result.status === 'saved') {
        form.querySelector('input[name="_version"]').value = String(result.version);
        say(`Saved at ${new Date().toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' })}`);
      } else if (response.status === 409) {
        stale = true;
        say('Not saved: this audit has been changed in another tab or by someone else. Select Continue to see your answers beside the newer version.');
      } else if (response.status === 422 && Array.isArray(result.errors)) {
        say(`Not saved yet: ${result.errors.map((error) => error.message).join('. ')}`);
      } else {
        say('Not saved automatically. Select Continue to save.');
      }
    } catch {
      say('Not saved automatically: check your connection, then select Continue.');
    }
    saving = false;
    if (again) {
      again = false;
      schedule();
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(save, PAUSE_MS);
  };

  form.addEventListener('input', schedule);
  form.addEventListener('change', schedule);
  form.addEventListener('submit', (event) => {
    clearTimeout(timer);
    if (!inFlight) return;
    // A save is on its way: submit once it is done, with the version it produced, so the
    // page's own autosave is never mistaken for a change made elsewhere.
    event.preventDefault();
    const button = event.submitter;
    inFlight.then(() => form.requestSubmit(button));
  });
}
