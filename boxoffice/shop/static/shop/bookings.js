// My bookings: cancel a paid booking (with its refund) or some of its seats, and greet a
// just-confirmed one. The seats offered and their refunds come from the server (booking's own
// rules); the page only adds up the chosen refunds, in minor units (money never a float).
import { api, sumMoney } from './api.js';
import { gettext, interpolate, money, word } from './i18n.js';

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

for (const form of document.querySelectorAll('form.cancel-seats')) {
  const boxes = () => [...form.querySelectorAll('input[name="seats"]')];
  const chosen = () => boxes().filter((box) => box.checked);
  const output = form.querySelector('output[name="refund"]');
  const submit = form.querySelector('button[type="submit"]');
  const currency = form.dataset.currency;
  const refundOf = () => sumMoney(chosen().map((box) => box.dataset.refund));
  const update = () => {
    output.textContent = money(refundOf(), currency);
    submit.disabled = chosen().length === 0;
  };
  form.addEventListener('change', update);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const id = form.dataset.booking;
    const seats = chosen();
    if (!seats.length) return;
    const labels = seats.map((box) => box.dataset.label).join(', ');
    const refund = money(refundOf(), currency);
    if (!window.confirm(interpolate(gettext('Cancel seat(s) %(labels)s of booking %(id)s? %(refund)s will be refunded to your card.'), { labels, id, refund }))) return;
    submit.disabled = true;
    const res = await api(`/api/v1/bookings/${id}/cancel/`, {
      method: 'POST',
      body: { seats: seats.map((box) => Number(box.value)) },
    });
    if (!res.ok) {
      update();
      statusNode.textContent = res.errors.map((e) => e.detail).join(' ');
      return;
    }
    const booking = res.data;
    const card = document.getElementById(`booking-${id}`);
    const kept = booking.seats.filter((s) => s.cancelled_at === null).map((s) => s.label);
    const gone = booking.seats.filter((s) => s.cancelled_at !== null).map((s) => s.label);
    const state = word(booking.status);
    card.querySelector('.state').textContent = state.charAt(0).toUpperCase() + state.slice(1);
    card.querySelector('.seats').textContent = interpolate(gettext('seats %(seats)s'), { seats: kept.join(', ') });
    card.querySelector('.total').textContent = interpolate(gettext('total %(total)s'), { total: money(booking.total, booking.currency) });
    for (const ticket of card.querySelectorAll('.ticket')) {
      if (gone.includes(ticket.dataset.seat)) ticket.remove();
    }
    for (const box of seats) box.closest('li').remove();
    // One seat left: nothing more to choose among; the whole-booking button stays.
    if (kept.length < 2 || !boxes().length) form.remove();
    else update();
    // The whole booking now refunds the price of the seats it keeps: the API's new total.
    const whole = card.querySelector('button.cancel');
    if (whole) {
      const before = whole.dataset.refund;
      const after = money(booking.total, booking.currency);
      whole.dataset.refund = after;
      whole.textContent = whole.textContent.replace(before, after);
      const help = whole.previousElementSibling;
      if (help) help.textContent = help.textContent.replace(before, after);
    }
    statusNode.textContent = interpolate(gettext('Seat(s) %(labels)s of booking %(id)s cancelled; %(refund)s is being refunded to your card.'), { labels, id, refund });
    // The focused button may be gone: keep the keyboard in the booking.
    const heading = card.querySelector('h2');
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  });
}
