// EMV merchant-presented QR payloads as this network writes them (the server's merchant/emv.py
// is the reference): the wallet reads a scanned code to show whom it pays, and the till writes
// and signs the dynamic code for one sale with its own key.

const GUID = "jp.aizu.pay";
// Python's base64.b85encode alphabet (RFC 1924), which the server decodes the signature with.
const B85 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

export function crc16(text) {
  let crc = 0xffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc.toString(16).toUpperCase().padStart(4, "0");
}

export function parseTlv(text) {
  const objects = {};
  let position = 0;
  while (position < text.length) {
    const tag = text.slice(position, position + 2);
    const length = Number(text.slice(position + 2, position + 4));
    if (!/^[0-9]{2}$/.test(tag) || !Number.isInteger(length) || length < 1) return null;
    const end = position + 4 + length;
    if (end > text.length) return null;
    objects[tag] = text.slice(position + 4, end);
    position = end;
  }
  return objects;
}

function tlv(objects) {
  return objects.map(([tag, value]) => tag + String(value.length).padStart(2, "0") + value).join("");
}

function b85encode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let word = 0;
    for (let j = 0; j < 4; j++) word = word * 256 + (bytes[i + j] || 0);
    const chunk = [];
    for (let j = 0; j < 5; j++) {
      chunk.unshift(B85[word % 85]);
      word = Math.floor(word / 85);
    }
    out += chunk.join("");
  }
  return out;
}

// What a scanned code says, or null when it is not one of this network's codes.
export function readCode(payload) {
  if (!payload.startsWith("000201") || payload.slice(-8, -4) !== "6304") return null;
  if (crc16(payload.slice(0, -4)) !== payload.slice(-4)) return null;
  const objects = parseTlv(payload.slice(0, -8));
  if (!objects || !objects["26"]) return null;
  const account = parseTlv(objects["26"]);
  if (!account || account["00"] !== GUID) return null;
  const dynamic = objects["01"] === "12";
  return {
    payload,
    merchantId: account["01"],
    terminalId: account["02"] || null,
    mcc: objects["52"],
    name: objects["59"],
    city: objects["60"],
    dynamic,
    amount: dynamic ? Number(objects["54"]) : null,
    expiresAt: dynamic && account["03"] ? new Date(Number(account["03"]) * 1000) : null,
  };
}

// The signed payload of a dynamic code: this amount, to this shop, from this till, once.
export async function dynamicCode({ merchant, terminalId, amount, expiresAt, nonce, sign }) {
  const account = [
    ["00", GUID],
    ["01", merchant.id],
    ["02", terminalId],
    ["03", String(Math.floor(expiresAt.getTime() / 1000))],
  ];
  const objects = [
    ["00", "01"],
    ["01", "12"],
    ["26", tlv(account)],
    ["52", merchant.mcc],
    ["53", "392"],
    ["54", String(amount)],
    ["58", "JP"],
    ["59", merchant.qr_name],
    ["60", merchant.qr_city],
    ["62", tlv([["07", terminalId], ["05", nonce]])],
  ];
  const signed = tlv(objects);
  const signature = await sign(new TextEncoder().encode(signed));
  const body = signed + tlv([["80", tlv([["00", GUID], ["01", b85encode(signature)]])]]);
  return body + "6304" + crc16(body + "6304");
}
