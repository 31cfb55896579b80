// The page's end-to-end code (app/web/src/e2e.js) against the C library's
// test vectors (tests/e2e/vectors.txt, from tests/e2e/e2e_vectors.c): the
// same keys, the same roster, the same envelope byte for byte, the same
// pairing messages and the same receipt proof. A second implementation of
// docs/encryption.md that agrees with the first on every byte.
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import * as e from '../../app/web/src/e2e.js';

const text = readFileSync(process.argv[2], 'utf8');
function vector(label) {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith(label + ' ('));
  assert.ok(i >= 0, `no vector "${label}"`);
  let hex = '';
  for (let k = i + 1; k < lines.length && lines[k].startsWith('  '); k++) hex += lines[k].trim();
  return e.hexToBytes(hex);
}
const fill = (n, first, rest) => { const b = new Uint8Array(n).fill(rest); b.set(first, 0); return b; };
const id = (n) => e.bytesToHex(Uint8Array.from({ length: 16 }, (_, i) => 0x10 * n + i));
function device(n) {
  return e.deviceKeys(fill(32, [n], 0x01), fill(32, [0x02, n], 0x02));
}
let failures = 0;
function check(name, fn) {
  try { fn(); console.log('ok', name); } catch (err) { failures++; console.log('FAIL', name, '-', err.message); }
}
function replay(bytes) {
  let at = 0;
  e.setRandomSource((n) => { const out = bytes.slice(at, at + n); at += n; assert.equal(out.length, n, 'randomness ran out'); return out; });
}
const uuid7 = (() => { const h = id(7); return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`; })();

check('CPace matches draft-irtf-cfrg-cpace-20 appendix B.3 (ristretto255, SHA-512)', () => {
  const enc = new TextEncoder();
  const sid = e.hexToBytes('7e4b4791d6a8ef019b936c79fb7f2c57');
  const ci = e.concat(Uint8Array.of(11), enc.encode('A_initiator'), Uint8Array.of(11), enc.encode('B_responder'));
  const g = e.cpaceGenerator(enc.encode('Password'), ci, sid);
  assert.equal(e.bytesToHex(g.toBytes()), '222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56');
  const ya = e.cpaceScalar(e.hexToBytes('da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08'));
  const yb = e.cpaceScalar(e.hexToBytes('d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d'));
  const Ya = g.multiply(ya).toBytes(), Yb = g.multiply(yb).toBytes();
  assert.equal(e.bytesToHex(Ya), 'd6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157');
  assert.equal(e.bytesToHex(Yb), '3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258');
  const K = e.cpaceDecode(Yb).multiply(ya).toBytes();
  assert.equal(e.bytesToHex(K), '80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f');
  const isk = e.cpaceIsk(sid, K, e.prefixFreeCat(Ya, enc.encode('ADa')), e.prefixFreeCat(Yb, enc.encode('ADb')));
  assert.equal(e.bytesToHex(isk), 'b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dcae7b35cd' +
                                  '2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c3fa2068af7900447');
  assert.equal(e.bytesToHex(e.prefixFreeCat(enc.encode('1234'), enc.encode('5'), new Uint8Array(0), enc.encode('6789'))),
               '04313233340135000436373839');
});

check('device keys', () => {
  for (const n of [1, 2, 3]) {
    assert.deepEqual(device(n).signPk, vector(`device ${n} sign_pk`));
    assert.deepEqual(device(n).boxPk, vector(`device ${n} box_pk`));
  }
});

let roster;
check('the roster parses, with its members and a valid signature', () => {
  roster = e.parseRoster(vector('roster'));
  assert.equal(roster.version, 1n);
  assert.equal(roster.familyId, id(9));
  assert.deepEqual(roster.members.map((m) => m.name), ['mama', 'nainai', 'baba']);
  assert.ok(roster.signatureValid);
  const bad = vector('roster'); bad[40] ^= 1;
  assert.ok(!e.parseRoster(bad).signatureValid, 'a changed roster still verifies');
});

check('the envelope is sealed byte for byte as the C library seals it', () => {
  replay(vector('randomness'));
  const plain = Uint8Array.from({ length: 100 }, (_, i) => i);
  const s = e.sealNote({ plain, messageId: uuid7, roster, me: id(1), keys: device(1), createdMs: 1767225600000,
                         chunkSize: 1024 });
  assert.deepEqual(e.bytesToHex(s.envelope), e.bytesToHex(vector('envelope')));
});

check('the C envelope opens for a recipient and is refused when changed, moved or not theirs', () => {
  const env = vector('envelope');
  const { plain } = e.openNote({ envelope: env, messageId: uuid7, roster, me: id(2), keys: device(2) });
  assert.deepEqual(plain, Uint8Array.from({ length: 100 }, (_, i) => i));
  const flipped = env.slice(); flipped[250] ^= 1;
  assert.throws(() => e.openNote({ envelope: flipped, messageId: uuid7, roster, me: id(2), keys: device(2) }));
  assert.throws(() => e.openNote({ envelope: env, messageId: uuid7.replace(/.$/, '0'), roster, me: id(2), keys: device(2) }), /moved/);
  assert.throws(() => e.openNote({ envelope: env, messageId: uuid7, roster, me: id(1), keys: device(1) }), /not for this device/);
});

check('the joiner answers A with the C library B, and opens its C', () => {
  const rnd = vector('randomness');
  replay(new Uint8Array(32).fill(0x5b));
  const { b, state } = e.pairingAnswer('1234567890', vector('A'), device(2), 'nainai');
  assert.equal(e.bytesToHex(b), e.bytesToHex(vector('B')));
  const r = e.pairingOpenC(state, vector('C'), device(2), null);
  assert.equal(r.deviceId, id(2));
  assert.equal(r.token, 't0k3n');
  assert.equal(r.roster.members.length, 3);
  replay(new Uint8Array(32).fill(0x5b));
  const wrong = e.pairingAnswer('1234567891', vector('A'), device(2), 'nainai');
  assert.throws(() => e.pairingOpenC(wrong.state, vector('C'), device(2), null), /codes do not match/);
  void rnd;
});

check('the receipt proof is the C library proof', () => {
  assert.deepEqual(e.receiptProof(device(2), uuid7, id(9), id(2), 'played'), vector('proof'));
  assert.ok(e.receiptValid(vector('proof'), roster, uuid7, id(2), 'played'));
  assert.ok(!e.receiptValid(vector('proof'), roster, uuid7, id(2), 'delivered'), 'a proof for played counts for delivered');
});

if (failures) { console.log(`${failures} failed`); process.exit(1); }
