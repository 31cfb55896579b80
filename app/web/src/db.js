// The page's own storage, in IndexedDB: the identity (keys and device
// token), the outbox with each recording's Ogg pages as they were made, the
// inbox with each note's audio, and small settings. Nothing of it goes in
// the URL, in localStorage or in a log.
const NAME = 'jiashu';
const VERSION = 1;

let opening = null;
export function openDb() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('kv');
      db.createObjectStore('outbox', { keyPath: 'id' });
      db.createObjectStore('pages', { keyPath: ['id', 'seq'] });
      db.createObjectStore('inbox', { keyPath: 'id' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => { opening = null; reject(req.error); };
  });
  return opening;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('aborted'));
  });
}
const result = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

export async function get(store, key) {
  const db = await openDb();
  return result(db.transaction(store).objectStore(store).get(key));
}
export async function put(store, value, key) {
  const db = await openDb();
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).put(value, key);
  return done(tx);
}
export async function del(store, key) {
  const db = await openDb();
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).delete(key);
  return done(tx);
}
export async function all(store) {
  const db = await openDb();
  return result(db.transaction(store).objectStore(store).getAll());
}
// Changes one record in one transaction: fn(old) returns the new value.
export async function update(store, key, fn) {
  const db = await openDb();
  const tx = db.transaction(store, 'readwrite');
  const os = tx.objectStore(store);
  const old = await result(os.get(key));
  const next = fn(old);
  if (next !== undefined) os.put(next);
  await done(tx);
  return next;
}
export async function addPage(id, seq, bytes) {
  return put('pages', { id, seq, bytes });
}
export async function pagesOf(id) {
  const db = await openDb();
  const range = IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]);
  const rows = await result(db.transaction('pages').objectStore('pages').getAll(range));
  return rows.map((r) => r.bytes);
}
export async function dropPages(id) {
  const db = await openDb();
  const tx = db.transaction('pages', 'readwrite');
  tx.objectStore('pages').delete(IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]));
  return done(tx);
}
// "Leave this family": everything this page ever kept, gone.
export async function wipe() {
  const db = await openDb();
  db.close();
  opening = null;
  await new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(NAME);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
    req.onblocked = () => resolve();
  });
}
