// The page's words and money in its language. The server puts the catalog of this page's
// language in <script type="application/json" id="shop-i18n"> (data, not code: the CSP allows
// no inline script); see boxoffice/shop/i18n.py. Mark a new string with gettext('...') (or
// ngettext, pgettext) and run `make messages`: makemessages -d djangojs finds it here.
// Placeholders are named, Django style: interpolate(gettext('Seat %(label)s'), { label }).

function read() {
  const node = document.getElementById('shop-i18n');
  try {
    return node ? JSON.parse(node.textContent) : {};
  } catch {
    return {};
  }
}

const data = read();
const catalog = data.catalog || {};
const style = data.money || { decimal: '.', group: ',', symbolFirst: true, symbols: {}, wholeUnits: [] };

export const language = data.language || document.documentElement.lang || 'en';

// English and German both have one form for 1 and another for every other number. A language
// with other plural rules needs its rule here (the catalog's formula would need eval()).
const pluralIndex = (n) => (n === 1 ? 0 : 1);

export function gettext(msgid) {
  const found = catalog[msgid];
  return typeof found === 'string' && found ? found : msgid;
}

export function ngettext(singular, plural, n) {
  const found = catalog[singular];
  const i = pluralIndex(n);
  if (Array.isArray(found) && found[i]) return found[i];
  return i === 0 ? singular : plural;
}

export function pgettext(context, msgid) {
  const found = catalog[`${context}\u0004${msgid}`];
  return typeof found === 'string' && found ? found : msgid;
}

export function interpolate(format, values) {
  return format.replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
}

// An amount (the API's decimal string) as the server writes it (boxoffice/core/money.py,
// format_money): "$12.50" in English, "12,50 $" in German.
export function money(amount, currency) {
  const code = String(currency || '').toLowerCase();
  const text = String(amount);
  const sign = text.startsWith('-') ? '-' : '';
  let [whole, fraction = ''] = text.replace(/^[-+]/, '').split('.');
  if (style.wholeUnits.includes(code)) fraction = '';
  whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, style.group);
  const number = fraction ? `${whole}${style.decimal}${fraction}` : whole;
  const symbol = style.symbols[code];
  if (style.symbolFirst) return symbol ? `${sign}${symbol}${number}` : `${sign}${code.toUpperCase()} ${number}`;
  return `${sign}${number} ${symbol || code.toUpperCase()}`;
}

// A decimal string (a factor, a base price) with the language's decimal mark: 0.80, 0,80.
export function number(value) {
  return String(value).replace('.', style.decimal);
}

// A seat tier, a booking status or a seat kind as the API spells it, in the page's words.
const WORDS = {
  standard: () => pgettext('seat tier', 'standard'),
  premium: () => pgettext('seat tier', 'premium'),
  vip: () => pgettext('seat tier', 'VIP'),
  pending: () => pgettext('booking status', 'pending'),
  confirmed: () => pgettext('booking status', 'confirmed'),
  cancelled: () => pgettext('booking status', 'cancelled'),
  expired: () => pgettext('booking status', 'expired'),
  exchanged: () => pgettext('booking status', 'exchanged'),
};

export function word(code) {
  return WORDS[code] ? WORDS[code]() : code;
}
