// The API's validation errors on a form: each next to its field (an element `<attr>-error`,
// the input marked aria-invalid), the rest in the form's `#form-error`; the first field at
// fault gets the focus. Shared by the sign-in, sign-up and account pages.
import { gettext } from './i18n.js';

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
        slot.textContent = slot.textContent ? `${slot.textContent} ${error.detail}` : error.detail;
        input.setAttribute('aria-invalid', 'true');
        first = first || input;
      } else general.push(error.detail);
    }
    formError.textContent = general.join(' ') || (first ? gettext('Please correct the fields marked below.') : '');
    if (first) first.focus();
    return errors;
  }

  return { clear, show };
}
