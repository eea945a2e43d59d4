// Autosave for the audit form and the moderation page (progressive enhancement: without it,
// each Continue, or sending the moderation, saves).
// While typing pauses, the page is posted as the Continue button would post it, answered in
// JSON. The form's version moves on with each save, so a save from another tab is refused.
const form = document.querySelector('form[data-module="app-autosave"]');
const status = form?.querySelector('[data-autosave-status]');
const PAUSE_MS = 2000;
/** A choice (a radio, a box) is saved sooner than typing, so a limit on a grade shows as it is chosen. */
const CHOICE_PAUSE_MS = 400;

if (form && status && window.fetch && window.FormData) {
  let timer;
  let saving = false;
  /** The save in flight, so Continue can wait for it and carry the version it produced. */
  let inFlight = null;
  let again = false;
  let stale = false;

  /** The button that saves the page without autosave, as the page names it. */
  const saveButton = status.dataset.saveButton ?? 'Continue';

  const say = (text) => {
    status.textContent = text;
  };

  /** A GOV.UK warning beside a grade, built from text (never markup) so nothing typed becomes HTML. */
  const warning = (text) => {
    const box = document.createElement('div');
    box.className = 'govuk-warning-text';
    const icon = document.createElement('span');
    icon.className = 'govuk-warning-text__icon';
    icon.setAttribute('aria-hidden', 'true');
    icon.textContent = '!';
    const words = document.createElement('strong');
    words.className = 'govuk-warning-text__text';
    const hidden = document.createElement('span');
    hidden.className = 'govuk-visually-hidden';
    hidden.textContent = 'Limiting judgement';
    words.append(hidden, text);
    box.append(icon, words);
    return box;
  };

  /** Shows the limits in force on this page's grades: { gradeName: message }; a grade not named has none. */
  const showLimits = (limits) => {
    for (const slot of form.querySelectorAll('[data-limit-for]')) {
      const message = limits[slot.dataset.limitFor];
      const shown = slot.querySelector('.govuk-warning-text__text')?.lastChild?.textContent;
      if (message === shown) continue;
      slot.replaceChildren(...(message ? [warning(message)] : []));
    }
  };

  /**
   * Shows the questions this page's answers ask and hides the others: { name: asked }. Without
   * JavaScript they all stay in view, and the answers decide which count.
   */
  const showAsked = (asked) => {
    for (const question of form.querySelectorAll('[data-asked-for]')) {
      const now = asked[question.dataset.askedFor];
      if (typeof now === 'boolean') question.dataset.asked = now ? 'yes' : 'no';
      question.hidden = question.dataset.asked === 'no';
    }
  };
  showAsked({});

  /** Shows each feedback respondent the branch of their answer to "Was feedback obtained?" and hides the other. */
  const showBranches = () => {
    for (const branch of form.querySelectorAll('[data-branch-of]')) {
      const chosen = form.querySelector(`input[name="${CSS.escape(branch.dataset.branchOf)}"]:checked`);
      branch.hidden = chosen?.value !== branch.dataset.branch;
    }
  };
  showBranches();
  form.addEventListener('change', showBranches);

  // A hidden branch is not sent, for autosave or Continue: what the auditor switched away from is not an answer.
  form.addEventListener('formdata', (event) => {
    for (const hidden of form.querySelectorAll('[data-branch-of][hidden]')) {
      for (const field of hidden.querySelectorAll('input, textarea, select')) {
        if (field.name) event.formData.delete(field.name);
      }
    }
  });

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
        if (result.limits && typeof result.limits === 'object') showLimits(result.limits);
        if (result.asked && typeof result.asked === 'object') showAsked(result.asked);
        // A page whose save is not yet the final word (the moderation page keeps a draft) says so in its own words.
        say(`${status.dataset.savedWords ?? 'Saved at'} ${new Date().toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' })}`);
      } else if (response.status === 409) {
        stale = true;
        say(`Not saved: this audit has been changed in another tab or by someone else. Select ${saveButton} to see your answers beside the newer version.`);
      } else if (response.status === 422 && Array.isArray(result.errors)) {
        say(`Not saved yet: ${result.errors.map((error) => error.message).join('. ')}`);
        // A grade better than a limit allows is refused on that grade: say why beside it too.
        const limits = {};
        for (const slot of form.querySelectorAll('[data-limit-for]')) {
          const shown = slot.querySelector('.govuk-warning-text__text')?.lastChild?.textContent;
          const refused = result.errors.find((error) => error.field === slot.dataset.limitFor);
          if (refused || shown) limits[slot.dataset.limitFor] = refused ? refused.message : shown;
        }
        showLimits(limits);
      } else {
        say(`Not saved automatically. Select ${saveButton} to save.`);
      }
    } catch {
      say(`Not saved automatically: check your connection, then select ${saveButton}.`);
    }
    saving = false;
    if (again) {
      again = false;
      schedule();
    }
  };

  const schedule = (pause = PAUSE_MS) => {
    clearTimeout(timer);
    timer = setTimeout(save, pause);
  };

  form.addEventListener('input', (event) => {
    const choice = event.target instanceof HTMLInputElement && (event.target.type === 'radio' || event.target.type === 'checkbox');
    schedule(choice ? CHOICE_PAUSE_MS : PAUSE_MS);
  });
  form.addEventListener('change', (event) => {
    const choice = event.target instanceof HTMLInputElement && (event.target.type === 'radio' || event.target.type === 'checkbox');
    schedule(choice ? CHOICE_PAUSE_MS : PAUSE_MS);
  });
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
