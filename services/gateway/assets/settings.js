// Settings: the signed-in reader's profile, privacy, password, data and account.
import { ApiError, graphql, onSession, session, signOut, upload } from './session.js';

const box = document.querySelector('#settings');
const signedOutNote = document.querySelector('#settings-signed-out');
const status = document.querySelector('#settings-status');

function say(message) {
  status.textContent = message;
}

function failed(err) {
  say(err instanceof ApiError ? `Not saved: ${err.message}` : 'Not saved: the connection failed; try again.');
}

onSession(async (signedIn) => {
  box.hidden = true;
  signedOutNote.hidden = Boolean(signedIn);
  if (!signedIn) return;
  // The forms show once they hold what is saved: typed into before, they would be overwritten.
  const data = await graphql('{ viewer { displayName bio readingVisibility avatar { url } } }');
  const me = data.viewer;
  showAvatar(me.avatar, me.displayName);
  document.querySelector('#display-name').value = me.displayName;
  document.querySelector('#bio').value = me.bio;
  const choice = document.querySelector(`input[name="visibility"][value="${me.readingVisibility}"]`);
  if (choice) choice.checked = true;
  box.hidden = false;
});

/** The reader's picture, or the first letter of their name when they have none. */
function showAvatar(avatar, name) {
  const preview = document.querySelector('#avatar-preview');
  if (avatar) {
    const image = document.createElement('img');
    image.src = avatar.url;
    image.alt = 'Your picture';
    preview.replaceChildren(image);
  } else {
    const letter = document.createElement('span');
    letter.setAttribute('aria-hidden', 'true');
    letter.textContent = (name ?? '?').charAt(0) || '?';
    preview.replaceChildren(letter);
  }
  document.querySelector('#avatar-remove').hidden = !avatar;
}

const AVATAR = 'reader { displayName avatar { url } }';

document.querySelector('#avatar-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = document.querySelector('#avatar-file').files[0];
  if (!file) return;
  say('Uploading your picture…');
  try {
    const { setAvatar } = await upload(`mutation($file: Upload!) { setAvatar(file: $file) { ${AVATAR} } }`, {}, file);
    showAvatar(setAvatar.reader.avatar, setAvatar.reader.displayName);
    event.target.reset();
    say('Your picture is saved.');
  } catch (err) {
    failed(err);
  }
});

document.querySelector('#avatar-remove').addEventListener('click', async () => {
  try {
    const { removeAvatar } = await graphql(`mutation { removeAvatar { ${AVATAR} } }`);
    showAvatar(removeAvatar.reader.avatar, removeAvatar.reader.displayName);
    say('Your picture is removed.');
  } catch (err) {
    failed(err);
  }
});

document.querySelector('#profile-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await graphql('mutation($n: String!, $b: String!) { updateProfile(displayName: $n, bio: $b) { position } }', {
      n: document.querySelector('#display-name').value,
      b: document.querySelector('#bio').value,
    });
    say('Your profile is saved.');
  } catch (err) {
    failed(err);
  }
});

document.querySelector('#privacy-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const chosen = document.querySelector('input[name="visibility"]:checked');
  if (!chosen) return;
  try {
    await graphql('mutation($v: Visibility!) { setReadingVisibility(visibility: $v) { position } }', { v: chosen.value });
    say('Who sees your reading is saved.');
  } catch (err) {
    failed(err);
  }
});

document.querySelector('#password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await graphql('mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { sessionIds } }', {
      c: document.querySelector('#current-password').value,
      n: document.querySelector('#new-password').value,
    });
    event.target.reset();
    say('Your password is changed; your other sessions are signed out.');
  } catch (err) {
    failed(err);
  }
});

// Exports: downloaded by script with the bearer token (never by a link a cookie would
// authorise), then handed to the browser as a file.
for (const button of document.querySelectorAll('[data-export]')) {
  button.addEventListener('click', async () => {
    say('Preparing your download…');
    try {
      const signedIn = await session();
      const response = await fetch(button.dataset.export, { headers: { Authorization: `Bearer ${signedIn?.token}` } });
      if (!response.ok) throw new ApiError(`the download failed (HTTP ${response.status})`);
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = button.dataset.file;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      say('Downloaded.');
    } catch (err) {
      failed(err);
    }
  });
}

document.querySelector('#delete-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!window.confirm('Delete your account and everything in it? This cannot be undone.')) return;
  try {
    await graphql('mutation($p: String!) { deleteAccount(password: $p) { position } }', { p: document.querySelector('#delete-password').value });
    await signOut().catch(() => {});
    location.assign('/');
  } catch (err) {
    failed(err);
  }
});
