// Staff check-in: a code from the keyboard or a scanner (Enter submits) or, where the browser
// has BarcodeDetector, the camera; a big green or red answer, and the show's running count.
import { api, el } from './api.js';
import { gettext, interpolate, word } from './i18n.js';

const form = document.getElementById('checkin-form');
const input = document.getElementById('code');
const verdict = document.getElementById('verdict');
const countNode = document.getElementById('count');
const cameraButton = document.getElementById('camera');
const video = document.getElementById('video');
let busy = false;

function answer(ok, title, lines) {
  verdict.className = `verdict ${ok ? 'ok' : 'no'}`;
  verdict.replaceChildren(el('p', { class: 'big', text: title }), ...lines.filter(Boolean).map((line) => el('p', { text: line })));
}

async function count(showtime, movie) {
  const res = await api(`/staff/checkin/count/${showtime}/`);
  if (!res.ok) return;
  const counted = interpolate(gettext('%(admitted)s of %(sold)s tickets admitted.'), res.data);
  countNode.textContent = movie ? `${movie}: ${counted}` : counted;
}

async function check(code) {
  if (busy || !code.trim()) return;
  busy = true;
  const res = await api('/api/v1/checkin/', { method: 'POST', body: { code: code.trim() } });
  busy = false;
  input.value = '';
  input.focus();
  if (res.ok) {
    const t = res.data;
    answer(true, interpolate(gettext('Admit · seat %(seat)s'), t), [
      `${t.movie} · ${t.theater}, ${t.screen} · ${t.local_start} (${t.timezone})`,
      interpolate(gettext('%(tier)s seat, booking %(booking)s'), { ...t, tier: word(t.tier) }),
    ]);
    count(t.showtime, t.movie);
    return;
  }
  const error = res.errors[0] || {};
  const reasons = {
    already_checked_in: gettext('Already used'),
    show_not_open: gettext('Wrong show (not open now)'),
    show_ended: gettext('Show has ended'),
  };
  let title = reasons[error.code] || gettext('Refused');
  if (res.status === 404) title = gettext('Unknown ticket');
  if (res.status === 403 || res.status === 401) title = gettext('Not allowed');
  answer(false, title, [error.detail]);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  check(input.value);
});

if ('BarcodeDetector' in window && navigator.mediaDevices) {
  cameraButton.hidden = false;
  cameraButton.addEventListener('click', async () => {
    try {
      const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      const media = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      video.srcObject = media;
      video.hidden = false;
      await video.play();
      cameraButton.hidden = true;
      let last = '';
      const scan = async () => {
        try {
          const codes = await detector.detect(video);
          if (codes.length && codes[0].rawValue !== last) {
            last = codes[0].rawValue;
            await check(last);
            setTimeout(() => { last = ''; }, 3000);
          }
        } catch {
          // a frame that could not be read: try the next one
        }
        requestAnimationFrame(scan);
      };
      scan();
    } catch (error) {
      answer(false, gettext('Camera unavailable'), [String(error.message || error)]);
    }
  });
}
