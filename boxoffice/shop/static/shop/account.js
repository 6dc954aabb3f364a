// The account pages: forgotten password, the emailed reset link, and the password change.
// Each form posts to the public API; its validation messages go next to their fields.
import { api, csrfToken, refresh } from './api.js';
import { fieldErrors } from './forms.js';
import { gettext } from './i18n.js';

const TOKEN_ATTRS = new Set(['token', 'uid']);

function setUp(form, { send, done }) {
  const { clear, show } = fieldErrors(form);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear();
    const values = Object.fromEntries(new FormData(form).entries());
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const result = await send(values);
      if (!result.ok) return show(result.errors);
      done(result);
    } finally {
      button.disabled = false;
    }
  });
}

function reveal(form, id) {
  const box = document.getElementById(id);
  form.hidden = true;
  box.hidden = false;
  box.focus();
}

const forgot = document.getElementById('forgot-form');
if (forgot) {
  setUp(forgot, {
    send: (values) => api('/api/v1/auth/password-reset/', { method: 'POST', body: { email: values.email } }),
    done: () => reveal(forgot, 'done'),
  });
}

const reset = document.getElementById('reset-form');
if (reset) {
  setUp(reset, {
    send: async (values) => {
      const result = await api('/api/v1/auth/password-reset/confirm/', {
        method: 'POST',
        body: { uid: reset.dataset.uid, token: reset.dataset.token, password: values.password },
      });
      // A bad, used or expired link: the server's message, and the way to a new link.
      const badLink = result.errors.some((e) => TOKEN_ATTRS.has(e.attr));
      document.getElementById('token-help').hidden = !badLink;
      return { ...result, errors: result.errors.map((e) => (TOKEN_ATTRS.has(e.attr) ? { ...e, attr: null } : e)) };
    },
    done: () => reveal(reset, 'done'),
  });
}

const change = document.getElementById('password-form');
if (change) {
  const changed = document.getElementById('changed');
  setUp(change, {
    send: async (values) => {
      changed.textContent = '';
      const body = { old_password: values.old_password, new_password: values.new_password };
      let result = await api('/api/v1/auth/password/', { method: 'POST', body });
      // An access cookie that ran out: renew it once (the auth paths are not retried by api()).
      if (result.status === 401 && (await refresh())) {
        result = await api('/api/v1/auth/password/', { method: 'POST', body });
      }
      return result;
    },
    done: () => {
      change.reset();
      changed.textContent = gettext('Your password has been changed. Your other devices have been signed out.');
    },
  });
}

// The language of the customer's emails (PATCH /api/v1/auth/me/); this browser's pages follow
// it through Django's set_language view (the language cookie), and the page is shown again in it.
const languageForm = document.getElementById('language-form');
if (languageForm) {
  const saved = document.getElementById('language-saved');
  setUp(languageForm, {
    send: async (values) => {
      saved.textContent = '';
      const body = { language: values.language };
      let result = await api('/api/v1/auth/me/', { method: 'PATCH', body });
      if (result.status === 401 && (await refresh())) {
        result = await api('/api/v1/auth/me/', { method: 'PATCH', body });
      }
      return result;
    },
    done: async (result) => {
      const language = result.data.language;
      const switched = await fetch('/i18n/setlang/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRFToken': csrfToken(), Accept: 'application/json' },
        body: new URLSearchParams({ language }),
        credentials: 'same-origin',
      });
      if (switched.ok && language !== document.documentElement.lang) {
        window.location.assign('/account/?saved=language');
        return;
      }
      saved.textContent = gettext('Saved. Your emails will be written in this language.');
    },
  });
  if (new URLSearchParams(location.search).get('saved') === 'language') {
    saved.textContent = gettext('Saved. Your emails will be written in this language.');
  }
}
