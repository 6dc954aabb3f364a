// The show page's seat picker: one <button> per seat, a roving tab stop moved by the arrow
// keys, the live seat map (server-sent events) applied as it arrives, a price breakdown before
// holding, and a polite live region for what changes.
import { api, config, el, money, sumMoney } from './api.js';
import { gettext, interpolate, ngettext, number, pgettext, word } from './i18n.js';

const cfg = config();
const mapNode = document.getElementById('seat-map');
const selectionNode = document.getElementById('selection');
const holdButton = document.getElementById('hold');
const holdError = document.getElementById('hold-error');
const announcer = document.getElementById('announcer');
const STORE = `boxoffice.picks.${cfg.showtime}`;
const STATUS_WORDS = {
  available: pgettext('seat status', 'available'),
  held: pgettext('seat status', 'held by another customer'),
  booked: pgettext('seat status', 'sold'),
};

const seats = new Map(); // seat id -> seat entry of the seat map
const buttons = new Map(); // seat id -> its button
let rows = []; // [[button, ...], ...] in drawing order, for the arrow keys
let currency = 'usd';
let picked = new Set(loadPicks());

function loadPicks() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || '[]');
  } catch {
    return [];
  }
}

function savePicks() {
  sessionStorage.setItem(STORE, JSON.stringify([...picked]));
}

let flip = false;
function announce(text) {
  // A trailing non-breaking space alternates so that the same words are announced again.
  flip = !flip;
  announcer.textContent = text + (flip ? '\u00a0' : '');
}

function seatName(seat) {
  const state = picked.has(seat.id) ? pgettext('seat status', 'selected') : STATUS_WORDS[seat.status] || seat.status;
  const kind = seat.kind && seat.kind !== 'standard' ? `, ${seat.kind === 'wheelchair' ? gettext('wheelchair space') : gettext('companion seat')}` : '';
  return interpolate(gettext('Seat %(label)s, %(tier)s%(kind)s, %(price)s, %(state)s'), { label: seat.label, tier: word(seat.tier), kind, price: money(seat.price, currency), state });
}

function paint(seat) {
  const button = buttons.get(seat.id);
  if (!button) return;
  const mine = picked.has(seat.id);
  button.className = `seat ${seat.tier} ${mine ? 'picked' : seat.status}`;
  button.setAttribute('aria-label', seatName(seat));
  button.setAttribute('aria-pressed', mine ? 'true' : 'false');
  if (seat.status !== 'available' && !mine) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
  button.title = seatName(seat);
}

function render(map) {
  currency = map.currency || currency;
  seats.clear();
  buttons.clear();
  const byRow = new Map();
  for (const seat of map.seats) {
    seats.set(seat.id, seat);
    if (!byRow.has(seat.row)) byRow.set(seat.row, []);
    byRow.get(seat.row).push(seat);
  }
  const focusedId = document.activeElement && document.activeElement.dataset ? Number(document.activeElement.dataset.seat) : null;
  const rowNodes = [];
  rows = [];
  const rowNames = [...byRow.keys()].sort((a, b) => a.length - b.length || a.localeCompare(b));
  for (const rowName of rowNames) {
    const rowSeats = byRow.get(rowName).sort((a, b) => a.number - b.number);
    const rowNode = el('div', { class: 'row', role: 'group', 'aria-label': interpolate(gettext('Row %(row)s'), { row: rowName }) });
    rowNode.append(el('span', { class: 'row-label', 'aria-hidden': 'true', text: rowName }));
    const rowButtons = [];
    for (const seat of rowSeats) {
      const button = el('button', { type: 'button', class: 'seat', 'data-seat': seat.id, tabindex: '-1' });
      button.textContent = seat.label;
      button.style.gridColumnStart = String(seat.number + 1);
      buttons.set(seat.id, button);
      rowButtons.push(button);
      rowNode.append(button);
    }
    rows.push(rowButtons);
    rowNodes.push(rowNode);
  }
  mapNode.replaceChildren(...rowNodes);
  mapNode.removeAttribute('aria-busy');
  // Picks kept from before (a reload, a sign-in) stay only while their seats are free.
  picked = new Set([...picked].filter((id) => seats.get(id) && seats.get(id).status === 'available'));
  for (const seat of seats.values()) paint(seat);
  const start = buttons.get(focusedId) || buttons.get([...picked][0]) || firstFree() || rows.flat()[0];
  if (start) {
    start.tabIndex = 0;
    if (focusedId && buttons.get(focusedId)) start.focus();
  }
  savePicks();
  renderSelection();
}

function firstFree() {
  for (const row of rows) for (const b of row) if (seats.get(Number(b.dataset.seat)).status === 'available') return b;
  return null;
}

function applyStatuses(changes) {
  const lost = [];
  for (const { id, status } of changes) {
    const seat = seats.get(id);
    if (!seat || seat.status === status) continue;
    seat.status = status;
    if (picked.has(id) && status !== 'available') {
      picked.delete(id);
      lost.push(seat.label);
    }
    paint(seat);
  }
  if (lost.length) {
    savePicks();
    renderSelection();
    const message = interpolate(
      ngettext('Seat %(seats)s was just taken by someone else. Please pick another.', 'Seats %(seats)s were just taken by someone else. Please pick others.', lost.length),
      { seats: lost.join(', ') },
    );
    holdError.textContent = message;
  }
}

function pickedSeats() {
  return [...picked].map((id) => seats.get(id)).filter(Boolean).sort((a, b) => a.label.localeCompare(b.label, 'en', { numeric: true }));
}

function renderSelection() {
  const chosen = pickedSeats();
  if (holdButton) holdButton.disabled = chosen.length === 0;
  if (!chosen.length) {
    selectionNode.replaceChildren(el('p', { text: interpolate(gettext('No seats picked yet. You can pick up to %(max)s.'), { max: cfg.maxSeats }) }));
    return;
  }
  const morning = cfg.timeFactor !== '1.00' && cfg.timeFactor !== '1';
  const table = el('table', { class: 'breakdown' });
  table.append(el('caption', { text: gettext('Price breakdown') }));
  const head = el('tr');
  for (const label of [gettext('Seat'), gettext('Tier'), gettext('How'), gettext('Price')]) head.append(el('th', { scope: 'col', text: label }));
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (const seat of chosen) {
    const how = `${number(cfg.basePrice)} × ${number(cfg.tierFactors[seat.tier] || '1.00')} ${word(seat.tier)}` + (morning ? ` × ${number(cfg.timeFactor)} ${gettext('morning')}` : '');
    const tr = el('tr');
    tr.append(el('th', { scope: 'row', text: seat.label }), el('td', { text: word(seat.tier) }), el('td', { text: how }), el('td', { class: 'num', text: money(seat.price, currency) }));
    body.append(tr);
  }
  table.append(body);
  const total = sumMoney(chosen.map((s) => s.price));
  const foot = el('tr');
  const totalFor = interpolate(ngettext('Total for %(count)s seat', 'Total for %(count)s seats', chosen.length), { count: chosen.length });
  foot.append(el('th', { scope: 'row', colspan: '3', text: totalFor }), el('td', { class: 'num total', text: money(total, currency) }));
  table.append(el('tfoot', {}, foot));
  const nodes = [table];
  if (cfg.exchange) {
    // The credit is the API's figure (the old booking's worth); what is left to pay, or what
    // comes back, is the difference, added up in minor units.
    const diff = sumMoney([total, `-${cfg.exchange.credit}`]);
    const back = diff.startsWith('-');
    const credit = el('tr');
    credit.append(el('th', { scope: 'row', colspan: '3', text: interpolate(gettext('Credit from booking %(id)s'), { id: cfg.exchange.booking }) }), el('td', { class: 'num', text: money(`-${cfg.exchange.credit}`, currency) }));
    const due = el('tr');
    due.append(el('th', { scope: 'row', colspan: '3', text: back ? gettext('Refunded to your card') : gettext('To pay') }), el('td', { class: 'num due', text: money(back ? diff.slice(1) : diff, currency) }));
    table.querySelector('tfoot').append(credit, due);
  }
  if (morning) nodes.push(el('p', { class: 'help', text: interpolate(gettext('Morning show: prices include the morning factor ×%(factor)s.'), { factor: number(cfg.timeFactor) }) }));
  selectionNode.replaceChildren(...nodes);
}

function toggle(button) {
  const seat = seats.get(Number(button.dataset.seat));
  if (!seat) return;
  holdError.textContent = '';
  if (picked.has(seat.id)) {
    picked.delete(seat.id);
    paint(seat);
    renderSelection();
    savePicks();
    announce(`${interpolate(gettext('Seat %(label)s removed.'), { label: seat.label })} ${summary()}`);
    return;
  }
  if (seat.status !== 'available') {
    announce(interpolate(gettext('Seat %(label)s is %(state)s; pick another.'), { label: seat.label, state: STATUS_WORDS[seat.status] || seat.status }));
    return;
  }
  if (picked.size >= cfg.maxSeats) {
    holdError.textContent = interpolate(gettext('You can pick up to %(max)s seats.'), { max: cfg.maxSeats });
    return;
  }
  picked.add(seat.id);
  paint(seat);
  renderSelection();
  savePicks();
  announce(`${interpolate(gettext('Seat %(label)s selected.'), { label: seat.label })} ${summary()}`);
}

function summary() {
  const chosen = pickedSeats();
  if (!chosen.length) return gettext('No seats picked.');
  const total = money(sumMoney(chosen.map((s) => s.price)), currency);
  return interpolate(ngettext('%(count)s seat, total %(total)s.', '%(count)s seats, total %(total)s.', chosen.length), { count: chosen.length, total });
}

function move(from, key) {
  let r = rows.findIndex((row) => row.includes(from));
  if (r < 0) return null;
  let i = rows[r].indexOf(from);
  if (key === 'ArrowLeft') i = Math.max(0, i - 1);
  else if (key === 'ArrowRight') i = Math.min(rows[r].length - 1, i + 1);
  else if (key === 'Home') i = 0;
  else if (key === 'End') i = rows[r].length - 1;
  else if (key === 'ArrowUp' || key === 'ArrowDown') {
    const next = r + (key === 'ArrowUp' ? -1 : 1);
    if (next < 0 || next >= rows.length) return from;
    const numberOf = (b) => seats.get(Number(b.dataset.seat)).number;
    const number = numberOf(from);
    r = next;
    i = rows[r].reduce((best, b, j) => (Math.abs(numberOf(b) - number) < Math.abs(numberOf(rows[r][best]) - number) ? j : best), 0);
  } else return null;
  return rows[r][i];
}

mapNode.addEventListener('click', (event) => {
  const button = event.target.closest('button.seat');
  if (button) {
    for (const b of buttons.values()) b.tabIndex = -1;
    button.tabIndex = 0;
    toggle(button);
  }
});

mapNode.addEventListener('keydown', (event) => {
  const button = event.target.closest('button.seat');
  if (!button) return;
  const target = move(button, event.key);
  if (!target) return;
  event.preventDefault();
  button.tabIndex = -1;
  target.tabIndex = 0;
  target.focus();
});

async function loadOnce() {
  const res = await api(`/api/v1/showtimes/${cfg.showtime}/seats/`);
  if (res.ok) render(res.data);
  return res.ok;
}

// The live seat map, read with fetch() rather than EventSource: EventSource sends only
// "Accept: text/event-stream", which the API's WSGI stream view refuses with 406 (its JSON
// renderers do not list that type), so this reader also accepts */*. It speaks the same
// protocol: it resumes with Last-Event-ID after a drop and honours the server's retry hint.
let retryMs = 2000;
let lastEventId = '';

function dispatch(block) {
  let event = 'message';
  let id = null;
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else if (field === 'retry' && Number(value) > 0) retryMs = Number(value);
  }
  if (id !== null) lastEventId = id;
  if (!data.length) return;
  if (event === 'snapshot') render(JSON.parse(data.join('\n')));
  else if (event === 'seats') applyStatuses(JSON.parse(data.join('\n')));
}

async function listen() {
  for (;;) {
    try {
      const headers = { Accept: 'text/event-stream, */*;q=0.1' };
      if (lastEventId) headers['Last-Event-ID'] = lastEventId;
      const res = await fetch(`/api/v1/showtimes/${cfg.showtime}/seats/events/`, { headers, cache: 'no-store' });
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let match;
        while ((match = /\r?\n\r?\n/.exec(buffer))) {
          dispatch(buffer.slice(0, match.index));
          buffer = buffer.slice(match.index + match[0].length);
        }
      }
    } catch {
      // Dropped or refused: show the map as it is now, then reconnect.
      await loadOnce().catch(() => false);
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

if (holdButton) {
  holdButton.addEventListener('click', async () => {
    const chosen = pickedSeats();
    if (!chosen.length) return;
    holdButton.disabled = true;
    holdError.textContent = '';
    announce(cfg.exchange ? gettext('Exchanging your booking…') : gettext('Holding your seats…'));
    const seats = chosen.map((s) => s.id);
    const res = cfg.exchange
      ? await api(`/api/v1/bookings/${cfg.exchange.booking}/exchange/`, { method: 'POST', body: { showtime: cfg.showtime, seats } })
      : await api('/api/v1/bookings/', { method: 'POST', body: { showtime: cfg.showtime, seats } });
    if (res.ok) {
      sessionStorage.removeItem(STORE);
      // An exchange the credit covers is done; otherwise the rest is paid at checkout.
      const done = cfg.exchange && res.data.status === 'confirmed';
      window.location.assign(done ? `/bookings/?booking=${res.data.id}` : `/checkout/${res.data.id}/`);
      return;
    }
    if (res.status === 401) {
      window.location.assign(`/signin/?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    const detail = res.errors.map((e) => e.detail).join(' ');
    const code = res.errors[0] && res.errors[0].code;
    const taken = code === 'seats_unavailable' || code === 'seats_taken';
    holdError.textContent = taken ? `${detail} ${gettext('Someone else got there first; please pick other seats.')}` : detail;
    if (taken) await loadOnce();
    renderSelection();
  });
}

if (window.ReadableStream && window.TextDecoderStream) listen();
else {
  loadOnce();
  setInterval(loadOnce, 5000);
}
