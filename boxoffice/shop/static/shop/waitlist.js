// The show page's waitlist form: join for N seats together (the API says 409 when that many
// are on sale together: book them instead), then say where the customer stands.
import { api, config } from './api.js';
import { gettext, interpolate, ngettext } from './i18n.js';

const form = document.getElementById('waitlist-form');
if (form) {
  const cfg = config();
  const input = document.getElementById('waitlist-quantity');
  const error = document.getElementById('waitlist-error');
  const status = document.getElementById('waitlist-status');
  const button = document.getElementById('waitlist-join');

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    const quantity = Number(input.value);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > cfg.maxSeats) {
      error.textContent = interpolate(gettext('Choose 1 to %(max)s seats.'), { max: cfg.maxSeats });
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    const res = await api(`/api/v1/showtimes/${cfg.showtime}/waitlist/`, {
      method: 'POST',
      body: { quantity },
    });
    button.disabled = false;
    if (res.ok) {
      const entry = res.data;
      status.textContent = interpolate(
        ngettext(
          'You are number %(position)s on the waitlist for %(quantity)s seat. We will email you when it is held for you; your entries are in My bookings.',
          'You are number %(position)s on the waitlist for %(quantity)s seats together. We will email you when seats are held for you; your entries are in My bookings.',
          entry.quantity,
        ),
        { position: entry.position, quantity: entry.quantity },
      );
      form.hidden = true;
      status.focus();
      return;
    }
    error.textContent = res.errors.map((e) => e.detail).join(' ');
    if (res.errors.some((e) => e.attr === 'quantity')) input.setAttribute('aria-invalid', 'true');
    input.focus();
  });
}
