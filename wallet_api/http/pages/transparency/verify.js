// A receipt checked in this browser with WebCrypto alone, as the README's "Checking a receipt"
// says: its entry leads up the Merkle tree (RFC 9162) to the seal's root, the seal is the one
// the city publishes, and the platform's key (taken from the published key set, not from the
// receipt) signed it. Nothing here trusts the service that sent the receipt.

const encoder = new TextEncoder();

export function hex(bytes) {
  return [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function fromHex(text) {
  if (typeof text !== "string" || !/^(?:[0-9a-f]{2})*$/i.test(text)) throw new Error("not hex");
  return Uint8Array.from(text.match(/../g) || [], (pair) => parseInt(pair, 16));
}

async function sha256(...parts) {
  const joined = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
}

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

// RFC 9162, 2.1.3.2: the root the leaf at `index` of a tree of `size` leads up to, or null.
export async function rootOf(leaf, index, size, proof) {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = await sha256(LEAF, encoder.encode(leaf));
  for (const sibling of proof.map(fromHex)) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(NODE, sibling, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await sha256(NODE, r, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? hex(r) : null;
}

// The six lines a seal's signature covers, rebuilt from its fields.
export function sealMessage(seal) {
  return ["aizu-seal-v1", seal.currency, seal.business_date, String(seal.entry_count), seal.root, seal.previous_root].join("\n");
}

export async function signatureHolds(publicKeyHex, message, signatureHex) {
  try {
    const key = await crypto.subtle.importKey("raw", fromHex(publicKeyHex), { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, fromHex(signatureHex), encoder.encode(message));
  } catch {
    return false; // not a key, not a signature: it does not hold
  }
}

// The platform's key a seal names, from the published key set; never a revoked one.
export function keyOf(keys, seal) {
  const found = keys.find((key) => key.kid === seal.key_id && key.status !== "revoked");
  return found ? found.hex : null;
}

// Each check of the receipt: [{ check, ok }], in the order a person reads them. `published`
// is the city's seal of the receipt's date, fetched apart (null when there is none).
export async function checkReceipt(receipt, keys, published) {
  const seal = receipt.seal || {};
  let entry = null;
  try {
    entry = JSON.parse(receipt.leaf);
  } catch {
    entry = null;
  }
  const root = typeof receipt.leaf === "string" && Array.isArray(receipt.proof)
    ? await rootOf(receipt.leaf, receipt.index, seal.entry_count, receipt.proof).catch(() => null)
    : null;
  const key = keyOf(keys, seal);
  const same = (field) => published !== null && published[field] === seal[field];
  return [
    { check: "entry", ok: entry !== null && entry.id === receipt.entry_id },
    { check: "proof", ok: root !== null && root === seal.root },
    {
      check: "published",
      ok: ["root", "entry_count", "previous_root", "signature", "business_date", "currency"].every(same),
    },
    { check: "signature", ok: key !== null && (await signatureHolds(key, sealMessage(seal), seal.signature || "")) },
  ];
}
