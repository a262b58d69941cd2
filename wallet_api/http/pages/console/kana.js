// Names as the banks' Zengin files carry them: half-width katakana, capital letters, digits,
// space and ( ) - . / , \ ｢ ｣ only; small kana written large, the long vowel mark as "-".
// What a person types (full-width katakana, hiragana, full-width letters) is turned into that.

const ALLOWED = /^[0-9A-Z\uff66\uff71-\uff9f\uff62\uff63 ()\-./,\\]$/;
const FULL = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン";
const HALF = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝ";
const SMALL = { ァ: "ｱ", ィ: "ｲ", ゥ: "ｳ", ェ: "ｴ", ォ: "ｵ", ャ: "ﾔ", ュ: "ﾕ", ョ: "ﾖ", ッ: "ﾂ", ヮ: "ﾜ", ヵ: "ｶ", ヶ: "ｹ", ヰ: "ｲ", ヱ: "ｴ" };
const HALF_SMALL = { ｧ: "ｱ", ｨ: "ｲ", ｩ: "ｳ", ｪ: "ｴ", ｫ: "ｵ", ｬ: "ﾔ", ｭ: "ﾕ", ｮ: "ﾖ", ｯ: "ﾂ" };
const DASHES = new Set(["ー", "ｰ", "－", "‐", "―", "−", "–", "—"]);
const MARKS = { "\u3099": "ﾞ", "\u309a": "ﾟ", "゛": "ﾞ", "゜": "ﾟ" };

function halfWidth(char) {
  const code = char.codePointAt(0);
  if (code >= 0x3041 && code <= 0x3096) return halfWidth(String.fromCodePoint(code + 0x60)); // hiragana
  if (DASHES.has(char)) return "-";
  if (char === "\u3000") return " ";
  if (char === "「") return "｢";
  if (char === "」") return "｣";
  if (MARKS[char]) return MARKS[char];
  if (SMALL[char]) return SMALL[char];
  if (HALF_SMALL[char]) return HALF_SMALL[char];
  const index = FULL.indexOf(char);
  if (index >= 0) return HALF[index];
  if (code >= 0xff01 && code <= 0xff5e) return String.fromCodePoint(code - 0xfee0); // full-width ASCII
  return char;
}

// The text as a Zengin name: what can be turned, turned; the rest left for `notAllowed`.
export function toZengin(text) {
  // NFD parts a voiced kana into its base and a combining mark, each turned on its own.
  return [...text.trim().normalize("NFD")].map(halfWidth).join("").toUpperCase();
}

// The characters of `text` a Zengin name may not hold, each once.
export function notAllowed(text) {
  return [...new Set([...text].filter((char) => !ALLOWED.test(char)))];
}
