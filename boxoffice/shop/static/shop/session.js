// Every shop page: sign out, and renew an expired session before the page is used.
import { api, refresh } from './api.js';

const signOut = document.getElementById('sign-out');
if (signOut) {
  signOut.addEventListener('click', async () => {
    signOut.disabled = true;
    await api('/api/v1/auth/logout/', { method: 'POST', body: {} });
    window.location.assign('/');
  });
}

if (document.body.dataset.needsRefresh) {
  refresh().then((ok) => {
    if (ok) window.location.reload();
    else if (document.getElementById('signing-back-in')) {
      window.location.assign('/signin/?next=' + encodeURIComponent(location.pathname + location.search));
    }
  });
}
