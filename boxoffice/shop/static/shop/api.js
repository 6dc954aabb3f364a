// The public API, called with the visitor's cookies like any browser client: unsafe requests
// carry X-CSRFToken (the csrftoken cookie); a 401 refreshes the tokens once and retries.
import { gettext, interpolate, money } from './i18n.js';

export { money };

export function csrfToken() {
  const entry = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='));
  return entry ? decodeURIComponent(entry.slice('csrftoken='.length)) : '';
}

export async function refresh() {
  const res = await fetch('/api/v1/auth/refresh/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
    body: '{}',
    credentials: 'same-origin',
  });
  return res.ok;
}

export async function api(path, { method = 'GET', body, retry = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken();
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    return { ok: false, status: 0, data: null, headers: new Headers(), errors: [{ attr: null, detail: gettext('The network is unreachable. Try again.') }] };
  }
  if (res.status === 401 && retry && !path.startsWith('/api/v1/auth/') && (await refresh())) {
    return api(path, { method, body, retry: false });
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  const errors = (data && Array.isArray(data.errors) ? data.errors : []).map((e) => ({
    attr: e.attr,
    code: e.code,
    detail: e.detail,
  }));
  if (!res.ok && !errors.length) {
    errors.push({ attr: null, detail: res.status === 429 ? gettext('Too many tries; wait a moment.') : interpolate(gettext('Something went wrong (%(status)s).'), { status: res.status }) });
  }
  return { ok: res.ok, status: res.status, data, headers: res.headers, errors };
}

// Minor-unit arithmetic on decimal strings: money never becomes a float.
export function toMinor(amount) {
  const [whole, frac = ''] = String(amount).split('.');
  return { units: BigInt(whole + frac), places: frac.length };
}

export function sumMoney(amounts) {
  if (!amounts.length) return '0.00';
  const places = Math.max(...amounts.map((a) => toMinor(a).places));
  let total = 0n;
  for (const a of amounts) {
    const m = toMinor(a);
    total += m.units * 10n ** BigInt(places - m.places);
  }
  const sign = total < 0n ? '-' : '';
  const digits = (total < 0n ? -total : total).toString().padStart(places + 1, '0');
  return places ? `${sign}${digits.slice(0, -places)}.${digits.slice(-places)}` : sign + digits;
}

export function config() {
  const node = document.getElementById('shop-config');
  return node ? JSON.parse(node.textContent) : {};
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) node.append(child);
  return node;
}
