// My bookings: cancel a paid booking (with its refund), and greet a just-confirmed one.
import { api } from './api.js';
import { gettext, interpolate, word } from './i18n.js';

const statusNode = document.getElementById('status');
const focus = new URLSearchParams(location.search).get('booking');
if (focus) {
  const card = document.getElementById(`booking-${focus}`);
  if (card && card.classList.contains('status-confirmed')) {
    statusNode.textContent = interpolate(gettext('Thank you! Booking %(id)s is confirmed; your tickets are below and on their way by email.'), { id: focus });
    card.classList.add('highlight');
  }
}

for (const button of document.querySelectorAll('button.cancel')) {
  button.addEventListener('click', async () => {
    const id = button.dataset.booking;
    if (!window.confirm(interpolate(gettext('Cancel booking %(id)s? %(refund)s will be refunded to your card.'), { id, refund: button.dataset.refund }))) return;
    button.disabled = true;
    const res = await api(`/api/v1/bookings/${id}/cancel/`, { method: 'POST', body: {} });
    if (res.ok) {
      statusNode.textContent = interpolate(gettext('Booking %(id)s is cancelled; %(refund)s is being refunded to your card.'), { id, refund: button.dataset.refund });
      const card = document.getElementById(`booking-${id}`);
      const state = word('cancelled');
      card.querySelector('.state').textContent = state.charAt(0).toUpperCase() + state.slice(1);
      card.querySelector('.tickets')?.remove();
      button.previousElementSibling?.remove();
      button.remove();
    } else {
      button.disabled = false;
      statusNode.textContent = res.errors.map((e) => e.detail).join(' ');
    }
  });
}

// The waitlist: leave an entry (an offer held for it ends, and its seats go to the next).
for (const button of document.querySelectorAll('button.leave')) {
  button.addEventListener('click', async () => {
    const id = button.dataset.entry;
    button.disabled = true;
    const res = await api(`/api/v1/waitlist/${id}/`, { method: 'DELETE' });
    if (res.ok) {
      const entry = document.getElementById(`entry-${id}`);
      entry.querySelector('.state').textContent = gettext('You left the waitlist');
      entry.querySelector('a.button')?.closest('p')?.remove();
      statusNode.textContent = gettext('You left the waitlist.');
      button.remove();
    } else {
      button.disabled = false;
      statusNode.textContent = res.errors.map((e) => e.detail).join(' ');
    }
  });
}
