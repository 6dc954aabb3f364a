// Checkout: the hold's countdown (on the server's clock), the pay step, and Stripe.js's Card
// Element confirmed with confirmCardPayment. A declined card can be retried while the hold runs.
import { api, config, el, money } from './api.js';
import { gettext, interpolate, word } from './i18n.js';

const cfg = config();
const $ = (id) => document.getElementById(id);
const summary = $('summary');
const countdown = $('countdown');
const statusNode = $('status');
const payError = $('pay-error');
const paySection = $('pay-section');
const payButton = $('pay');
const cardForm = $('card-form');
const confirmButton = $('confirm');
const releaseButton = $('release');
const back = $('back');

let skewMs = 0; // the server's clock minus ours, from the Date header
let expiresAt = 0;
let ticking = null;
let stripe = null;
let card = null;
let clientSecret = '';
let warned = false;
let finished = false;

function serverNow() {
  return Date.now() + skewMs;
}

async function fetchBooking() {
  const res = await api(`/api/v1/bookings/${cfg.booking}/`);
  const date = res.headers.get('Date');
  if (date && !Number.isNaN(Date.parse(date))) skewMs = Date.parse(date) - Date.now();
  return res;
}

function showSeats(booking) {
  const list = el('ul', { class: 'seat-lines' });
  for (const seat of booking.seats) {
    const line = interpolate(gettext('Seat %(label)s · %(tier)s · %(price)s'), { label: seat.label, tier: word(seat.tier), price: money(seat.price, booking.currency) });
    list.append(el('li', { text: line }));
  }
  const lines = [list, el('p', { class: 'total', text: interpolate(gettext('Total %(total)s'), { total: money(booking.total, booking.currency) }) })];
  if (booking.exchange_of) {
    // An exchange: the old booking's worth counts; the payment is for what is left.
    lines.push(el('p', { text: interpolate(gettext('Credit from booking %(id)s: %(credit)s'), { id: booking.exchange_of, credit: money(booking.credit, booking.currency) }) }));
    lines.push(el('p', { class: 'total due', text: interpolate(gettext('To pay %(amount)s'), { amount: money(booking.amount_due, booking.currency) }) }));
  }
  summary.replaceChildren(...lines);
}

function lapsed() {
  finish();
  paySection.hidden = true;
  countdown.hidden = true;
  payError.textContent = gettext('Your hold has lapsed: these seats are free again for everyone. Go back to the seat map to pick seats again.');
  back.hidden = false;
  back.querySelector('a').focus();
}

function finish() {
  finished = true;
  if (ticking) clearInterval(ticking);
  ticking = null;
}

function tick() {
  // Whole seconds left, rounded up: 0 only once the hold's end has passed by our reckoning.
  const left = Math.max(0, Math.ceil((expiresAt - serverNow()) / 1000));
  const minutes = Math.floor(left / 60);
  const seconds = String(left % 60).padStart(2, '0');
  countdown.textContent = interpolate(gettext('Your seats are held for %(time)s more.'), { time: `${minutes}:${seconds}` });
  if (left <= 60 && !warned) {
    warned = true;
    statusNode.textContent = gettext('Less than a minute left to pay before your seats are released.');
  }
  if (left <= 0) {
    if (ticking) clearInterval(ticking);
    ticking = null;
    fetchBooking().then((res) => {
      if (res.ok && res.data.status === 'confirmed') confirmed();
      else if (!res.ok || res.data.status !== 'pending' || expiresAt <= serverNow()) lapsed();
      // Still pending on the server, whose clock (known to the second from its Date header)
      // has not reached the end yet: ask again in a moment rather than never.
      else setTimeout(() => { if (!finished) tick(); }, 1000);
    });
  }
}

function confirmed() {
  finish();
  window.location.assign(`/bookings/?booking=${cfg.booking}#booking-${cfg.booking}`);
}

async function start() {
  const res = await fetchBooking();
  if (!res.ok) {
    summary.replaceChildren(el('p', { text: res.errors.map((e) => e.detail).join(' ') }));
    return;
  }
  const booking = res.data;
  showSeats(booking);
  if (booking.status === 'confirmed') return confirmed();
  if (booking.status === 'expired') return lapsed();
  if (booking.status !== 'pending') {
    statusNode.textContent = interpolate(gettext('This booking is %(status)s.'), { status: word(booking.status) });
    back.hidden = false;
    return;
  }
  expiresAt = Date.parse(booking.expires_at);
  countdown.hidden = false;
  paySection.hidden = false;
  tick();
  ticking = setInterval(tick, 1000);
}

// Development and tests: localstripe's Stripe.js mock cannot attach a card to a PaymentIntent
// (its confirmCardPayment only completes 3-D Secure), so the card typed into its Card Element
// is confirmed by the shop's test-card door instead. Production uses Stripe.js as it is.
function emulated(stripeJs) {
  return {
    elements: (...args) => stripeJs.elements(...args),
    confirmCardPayment: async (secret, data) => {
      const element = data.payment_method.card;
      const number = element.value && element.value.card ? element.value.card.number : '';
      const res = await api(`/checkout/${cfg.booking}/test-card/`, { method: 'POST', body: { number } });
      const body = res.data || {};
      if (res.ok && body.status && body.status !== 'declined') return { paymentIntent: { status: body.status } };
      // A declined card answers {status: "declined"}; a refusal, the API's error shape.
      const refusal = res.ok ? {} : res.errors[0] || {};
      return { error: { code: refusal.code || 'card_declined', message: refusal.detail || gettext('Your card was declined.') } };
    },
  };
}

function labelEmulatorInputs() {
  const names = {
    number: gettext('Card number'),
    exp_month: gettext('Expiry month (MM)'),
    exp_year: gettext('Expiry year (YY)'),
    cvc: gettext('CVC'),
    postal_code: gettext('Postal code'),
  };
  for (const input of document.querySelectorAll('#card-element input')) {
    const name = names[input.getAttribute('placeholder')];
    if (name) input.setAttribute('aria-label', name);
  }
}

payButton.addEventListener('click', async () => {
  payButton.disabled = true;
  payError.textContent = '';
  statusNode.textContent = gettext('Opening the payment…');
  const res = await api(`/api/v1/bookings/${cfg.booking}/pay/`, { method: 'POST', body: {} });
  if (!res.ok) {
    payButton.disabled = false;
    statusNode.textContent = '';
    if (res.status === 409) return lapsedOrClosed(res);
    const wait = res.headers.get('Retry-After');
    const unavailable = wait
      ? interpolate(gettext('Payments are unavailable right now; your seats stay held. Try again in %(seconds)s s.'), { seconds: wait })
      : gettext('Payments are unavailable right now; your seats stay held. Try again.');
    payError.textContent = res.status === 503 ? unavailable : res.errors.map((e) => e.detail).join(' ');
    return;
  }
  clientSecret = res.data.client_secret;
  if (typeof window.Stripe !== 'function') {
    payError.textContent = gettext('The card form could not be loaded. Check your connection and reload the page.');
    payButton.disabled = false;
    return;
  }
  const stripeJs = window.Stripe(res.data.publishable_key);
  stripe = cfg.stripeEmulator ? emulated(stripeJs) : stripeJs;
  card = stripe.elements().create('card');
  card.mount('#card-element');
  labelEmulatorInputs();
  payButton.hidden = true;
  cardForm.hidden = false;
  statusNode.textContent = gettext('Enter your card details, then confirm the payment.');
  const first = document.querySelector('#card-element input');
  if (first) first.focus();
  else if (card.focus) card.focus();
});

async function lapsedOrClosed(res) {
  const again = await fetchBooking();
  if (again.ok && again.data.status === 'confirmed') return confirmed();
  if (again.ok && again.data.status === 'expired') return lapsed();
  payError.textContent = res.errors.map((e) => e.detail).join(' ');
}

cardForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (finished) return;
  confirmButton.disabled = true;
  payError.textContent = '';
  statusNode.textContent = gettext('Confirming your payment…');
  const result = await stripe.confirmCardPayment(clientSecret, { payment_method: { card } });
  if (result.error) {
    confirmButton.disabled = false;
    statusNode.textContent = '';
    const declined = result.error.code === 'card_declined' || /declin/i.test(result.error.message || '');
    payError.textContent = declined
      ? gettext('Your card was declined. Your seats are still held: try again or use another card.')
      : interpolate(gettext('The payment did not go through: %(reason)s. Your seats are still held; try again.'), { reason: result.error.message || gettext('unknown error') });
    return;
  }
  statusNode.textContent = gettext('Payment received. Issuing your tickets…');
  finish();
  for (let i = 0; i < 60; i += 1) {
    const res = await fetchBooking();
    if (res.ok && res.data.status === 'confirmed') return confirmed();
    if (res.ok && res.data.status === 'cancelled') {
      payError.textContent = gettext('Your seats were lost before the payment arrived; the money is being refunded in full.');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  statusNode.textContent = gettext('Payment received. Your tickets will appear in My bookings in a moment.');
});

releaseButton.addEventListener('click', async () => {
  releaseButton.disabled = true;
  const res = await api(`/api/v1/bookings/${cfg.booking}/cancel/`, { method: 'POST', body: {} });
  if (res.ok) {
    finish();
    paySection.hidden = true;
    countdown.hidden = true;
    statusNode.textContent = gettext('Your seats were released.');
    back.hidden = false;
  } else {
    releaseButton.disabled = false;
    payError.textContent = res.errors.map((e) => e.detail).join(' ');
  }
});

start();
