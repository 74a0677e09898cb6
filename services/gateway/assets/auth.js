// The sign-in and sign-up forms: each posts its fields as JSON to its session door, then goes
// to the page the reader came from (`?next=`, a path on this site only) or home.
import { ApiError, signIn, signUp } from './session.js';

const form = document.querySelector('form[data-auth]');
const problem = document.querySelector('#form-problem');

function next() {
  const path = new URLSearchParams(location.search).get('next') ?? '/';
  // Only a path of this site: never `//elsewhere` or `https://elsewhere`.
  return path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/';
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const fields = new FormData(form);
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  problem.textContent = '';
  try {
    if (form.dataset.auth === 'sign-up') {
      await signUp(fields.get('handle'), fields.get('displayName'), fields.get('password'));
    } else {
      await signIn(fields.get('handle'), fields.get('password'));
    }
    location.assign(next());
  } catch (err) {
    problem.textContent = err instanceof ApiError ? err.message : 'The connection failed; try again.';
    button.disabled = false;
    problem.focus();
  }
});
