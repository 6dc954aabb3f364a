// The API's validation errors on a form: each next to its field (an element `<attr>-error`,
// the input marked aria-invalid), the rest in the form's `#form-error`; the first field at
// fault gets the focus. Shared by the sign-in, sign-up and account pages.
import { gettext, language } from './i18n.js';

// The API's details are English (its codes are the contract): on a page in another language,
// the codes these forms meet are said in the page's words; any other keeps the API's detail.
const BY_CODE = {
  required: () => gettext('This field is required.'),
  blank: () => gettext('This field is required.'),
  invalid_credentials: () => gettext('Wrong username or password.'),
  password_incorrect: () => gettext('Your current password was entered incorrectly.'),
  password_too_short: () => gettext('This password is too short.'),
  password_too_common: () => gettext('This password is too common.'),
  password_entirely_numeric: () => gettext('This password is entirely numeric.'),
  password_too_similar: () => gettext('The password is too similar to your username or email.'),
  invalid_token: () => gettext('This link is invalid, used or expired.'),
};

export function describe(error) {
  const words = language !== 'en' && BY_CODE[error.code];
  return words ? words() : error.detail;
}

export function fieldErrors(form) {
  const formError = form.querySelector('[data-form-error]') || form.querySelector('#form-error');

  function clear() {
    formError.textContent = '';
    for (const node of form.querySelectorAll('.field-error')) node.textContent = '';
    for (const input of form.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  }

  function show(errors) {
    let first = null;
    const general = [];
    for (const error of errors) {
      const input = error.attr && form.elements.namedItem(error.attr);
      const slot = input && document.getElementById(`${error.attr}-error`);
      if (slot) {
        const text = describe(error);
        slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
        input.setAttribute('aria-invalid', 'true');
        first = first || input;
      } else general.push(describe(error));
    }
    formError.textContent = general.join(' ') || (first ? gettext('Please correct the fields marked below.') : '');
    if (first) first.focus();
    return errors;
  }

  return { clear, show };
}
