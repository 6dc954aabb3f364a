// Sign up and sign in: the API's validation messages go next to their fields.
import { api } from './api.js';
import { fieldErrors } from './forms.js';

const form = document.getElementById('auth-form');
const mode = form.dataset.mode;
// Where to go once signed in: only what the server checked and wrote into the form (a URL of
// this site), never a parameter read from the address bar; anything else goes home.
const checked = new URL(form.dataset.next || '/', location.origin);
const next = checked.origin === location.origin ? checked.href : '/';

const { clear, show } = fieldErrors(form);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clear();
  const values = Object.fromEntries(new FormData(form).entries());
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    if (mode === 'signup') {
      const created = await api('/api/v1/auth/register/', { method: 'POST', body: values });
      if (!created.ok) return show(created.errors);
    }
    const login = await api('/api/v1/auth/login/', { method: 'POST', body: { username: values.username, password: values.password } });
    if (!login.ok) {
      return show(login.status === 401 || login.status === 400 ? login.errors.map((e) => ({ ...e, attr: e.attr === 'non_field_errors' ? null : e.attr })) : login.errors);
    }
    window.location.assign(next);
  } finally {
    button.disabled = false;
  }
});
