// The browser's own Ed25519 keys (the wallet's device key, the till's terminal key): made by
// WebCrypto as non-extractable, kept in IndexedDB as CryptoKey objects, so no script, this
// page's included, can ever read the private key; only the public key leaves the browser.

const DATABASE = "aizu-keys";
const STORE = "keys";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// The record under `name`: { privateKey, publicKey (base64url), ...fields saved with it }.
export async function loadKey(name) {
  return (await transact("readonly", (store) => store.get(name))) || null;
}

export async function saveKey(name, record) {
  await transact("readwrite", (store) => store.put(record, name));
}

export async function forgetKey(name) {
  await transact("readwrite", (store) => store.delete(name));
}

// A new key pair; the private half cannot be exported, by anyone.
export async function generateKey() {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
  return { privateKey: pair.privateKey, publicKey: base64url(raw) };
}

export async function sign(privateKey, bytes) {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, bytes));
}

// A payment intent's exact signed bytes: JSON with sorted keys and no spaces, as the service
// builds them (wallet_api/devices/domain.py).
export function intentBytes(intent) {
  const sorted = Object.fromEntries(Object.keys(intent).sort().map((k) => [k, intent[k]]));
  return new TextEncoder().encode(JSON.stringify(sorted));
}
