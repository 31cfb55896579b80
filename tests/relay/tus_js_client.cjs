// Uploads a file to a jiashu relay with tus-js-client, aborts in the middle,
// resumes from the upload URL, and prints what happened as JSON.
// Environment: BASE, TOKEN, RECIPIENT, FILE, MESSAGE_ID, PEERS (node_modules dir).
const path = require('path');
const fs = require('fs');
const tus = require(path.resolve(process.env.PEERS, 'tus-js-client'));

const data = fs.readFileSync(process.env.FILE);
const common = {
  endpoint: process.env.BASE + '/v1/uploads',
  chunkSize: 16384,
  retryDelays: [],
  headers: { Authorization: 'Bearer ' + process.env.TOKEN },
  metadata: {
    message_id: process.env.MESSAGE_ID,
    recipients: process.env.RECIPIENT,
    duration_ms: '7000',
  },
  uploadSize: data.length,
};

function fail(msg) {
  console.error('tus-js-client: ' + msg);
  process.exit(1);
}

let lastAccepted = 0;
let aborted = false;
const first = new tus.Upload(data, {
  ...common,
  onError: (e) => fail('first upload failed: ' + e),
  onSuccess: () => fail('the first upload finished before it was interrupted'),
  // Interrupted in the middle of the third chunk's PATCH, not between two.
  onChunkComplete: (chunk, accepted) => {
    lastAccepted = accepted;
  },
  onProgress: (sent) => {
    if (!aborted && sent >= 2 * 16384 + 8000) {
      aborted = true;
      first.abort(false).then(() => resume(first.url, lastAccepted));
    }
  },
});
first.start();

function resume(url, acceptedBefore) {
  if (!url) fail('no upload URL after the first chunks');
  let resumedAt = null;
  const second = new tus.Upload(data, {
    ...common,
    uploadUrl: url,
    onProgress: (sent) => {
      if (resumedAt === null) resumedAt = sent;
    },
    onError: (e) => fail('resumed upload failed: ' + e),
    onSuccess: () => {
      console.log(JSON.stringify({ url, acceptedBefore, resumedAt, secondUrl: second.url }));
    },
  });
  second.start();
}
