// Import: the file goes up as a GraphQL multipart request with the bearer token; the job's
// progress then comes live, batch by batch, with the rows that were not imported and why.
import { ApiError, onSession, subscribe, upload } from './session.js';

const box = document.querySelector('#import');
const signedOutNote = document.querySelector('#import-signed-out');
const form = document.querySelector('#import-form');
const job = document.querySelector('#import-job');
const bar = document.querySelector('#import-progress');
const figures = document.querySelector('#import-figures');
const state = document.querySelector('#import-state');
const errorsTitle = document.querySelector('#errors-title');
const errors = document.querySelector('#import-errors');
const grouped = new Intl.NumberFormat('en-US');

onSession((signedIn) => {
  box.hidden = !signedIn;
  signedOutNote.hidden = Boolean(signedIn);
});

const FIELDS = 'id status failure rowsTotal rowsImported rowsSkipped rowsFailed errors(first: 100) { row reason }';

function show(progress) {
  const done = progress.rowsImported + progress.rowsSkipped + progress.rowsFailed;
  bar.max = Math.max(progress.rowsTotal, 1);
  bar.value = done;
  figures.textContent = `${grouped.format(done)} of ${grouped.format(progress.rowsTotal)} rows: ${grouped.format(progress.rowsImported)} imported, ${grouped.format(progress.rowsSkipped)} already here, ${grouped.format(progress.rowsFailed)} not imported`;
  const words = { QUEUED: 'Waiting its turn…', RUNNING: 'Importing…', DONE: 'Done: your library is here.', FAILED: `Failed: ${progress.failure ?? 'the file could not be read'}` };
  state.textContent = words[progress.status] ?? progress.status;
  const rows = progress.errors ?? [];
  errorsTitle.hidden = rows.length === 0;
  errors.replaceChildren(...rows.map((error) => {
    const li = document.createElement('li');
    li.textContent = `Row ${error.row}: ${error.reason}`;
    return li;
  }));
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = document.querySelector('#import-file').files[0];
  if (!file) return;
  const format = new FormData(form).get('format');
  job.hidden = false;
  state.textContent = 'Uploading…';
  try {
    const query = `mutation($file: Upload!, $format: ImportFormat!) { importLibrary(file: $file, format: $format) { ${FIELDS} } }`;
    const started = (await upload(query, { format }, file)).importLibrary;
    show(started);
    const stop = subscribe(`subscription($j: ID!) { importProgress(jobId: $j) { ${FIELDS} } }`, () => ({ j: started.id }), ({ importProgress }) => {
      show(importProgress);
      if (importProgress.status === 'DONE' || importProgress.status === 'FAILED') stop();
    });
  } catch (err) {
    state.textContent = err instanceof ApiError ? `Not imported: ${err.message}` : 'Not imported: the connection failed; try again.';
  }
});
