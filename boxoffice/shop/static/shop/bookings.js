// My bookings: cancel a paid booking (with its refund), and greet a just-confirmed one.
import { api } from './api.js';

const statusNode = document.getElementById('status');
const focus = new URLSearchParams(location.search).get('booking');
if (focus) {
  const card = document.getElementById(`booking-${focus}`);
  if (card && card.classList.contains('status-confirmed')) {
    statusNode.textContent = `Thank you! Booking ${focus} is confirmed; your tickets are below and on their way by email.`;
    card.classList.add('highlight');
  }
}

for (const button of document.querySelectorAll('button.cancel')) {
  button.addEventListener('click', async () => {
    const id = button.dataset.booking;
    if (!window.confirm(`Cancel booking ${id}? ${button.dataset.refund} will be refunded to your card.`)) return;
    button.disabled = true;
    const res = await api(`/api/v1/bookings/${id}/cancel/`, { method: 'POST', body: {} });
    if (res.ok) {
      statusNode.textContent = `Booking ${id} is cancelled; ${button.dataset.refund} is being refunded to your card.`;
      const card = document.getElementById(`booking-${id}`);
      card.querySelector('.state').textContent = 'Cancelled';
      card.querySelector('.tickets')?.remove();
      button.previousElementSibling?.remove();
      button.remove();
    } else {
      button.disabled = false;
      statusNode.textContent = res.errors.map((e) => e.detail).join(' ');
    }
  });
}
