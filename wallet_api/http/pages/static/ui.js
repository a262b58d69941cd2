// What every page does the same way: the language (Japanese first), large text, messages in
// plain words, numbers and dates as people read them, the sound and buzz of a payment, and
// switching views by the address's #fragment.

import { api, ApiError, currentSession, signIn, signOut } from "/static/api.js";
import { MESSAGES } from "/static/messages.js";

const LANGUAGE_KEY = "aizu.language";
const LARGE_TEXT_KEY = "aizu.large-text";

export function language() {
  return localStorage.getItem(LANGUAGE_KEY) === "en" ? "en" : "ja";
}

// A page's own words (`{ ja: {...}, en: {...} }`), added to those every page shares.
export function addMessages(more) {
  for (const [lang, words] of Object.entries(more)) Object.assign(MESSAGES[lang], words);
}

export function t(key, values = {}) {
  const text = MESSAGES[language()][key] ?? MESSAGES.ja[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

// Fill every element marked data-i18n (its text) or data-i18n-label (its aria-label).
export function translate(root = document) {
  document.documentElement.lang = language();
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nLabel));
  }
  for (const element of root.querySelectorAll("[data-i18n-placeholder]")) {
    element.setAttribute("placeholder", t(element.dataset.i18nPlaceholder));
  }
  const title = document.querySelector("[data-i18n-title]");
  if (title) document.title = t(title.dataset.i18nTitle);
}

export function yen(amount) {
  return new Intl.NumberFormat(language() === "ja" ? "ja-JP" : "en-JP").format(amount);
}

export function points(amount) {
  return t("points", { amount: yen(amount) });
}

export function dateTime(value) {
  return new Intl.DateTimeFormat(language() === "ja" ? "ja-JP" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: "Asia/Tokyo",
  }).format(new Date(value));
}

export function day(value) {
  return new Intl.DateTimeFormat(language() === "ja" ? "ja-JP" : "en-GB", {
    dateStyle: "long",
    timeZone: "Asia/Tokyo",
  }).format(new Date(value));
}

// A business date (YYYY-MM-DD) as people read it: taken at noon in Japan, so that no time zone
// moves it to the day before or after.
export function businessDay(isoDate) {
  return day(isoDate + "T12:00:00+09:00");
}

// Today's date in Japan, or the date `daysBack` days before it, as YYYY-MM-DD.
export function tokyoDate(daysBack = 0) {
  return new Date(Date.now() + 9 * 3600 * 1000 - daysBack * 86_400_000).toISOString().slice(0, 10);
}

// The rows of a CSV file as a spreadsheet saves it (RFC 4180, a byte-order mark, CR LF): each
// row with a cell that is not empty, as its cells, trimmed. A quoted cell may hold commas, line
// breaks and doubled quotes ("").
export function csvRows(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  const endCell = () => {
    row.push(cell.trim());
    cell = "";
  };
  const endRow = () => {
    endCell();
    if (row.some((each) => each)) rows.push(row);
    row = [];
  };
  const source = text.replace(/^\uFEFF/, "");
  for (let at = 0; at < source.length; at++) {
    const char = source[at];
    if (quoted) {
      if (char !== '"') cell += char;
      else if (source[at + 1] === '"') cell += source[++at];
      else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ",") endCell();
    else if (char === "\n") endRow();
    else if (char !== "\r") cell += char;
  }
  if (cell || row.length) endRow();
  return rows;
}

export function time(value) {
  return new Intl.DateTimeFormat(language() === "ja" ? "ja-JP" : "en-GB", {
    timeStyle: "medium",
    timeZone: "Asia/Tokyo",
  }).format(new Date(value));
}

// The whole number of yen or points typed in `input` (full-width digits too, as a Japanese
// keyboard gives them), or null when it is not one above zero.
export function typedAmount(input) {
  const text = input.value.trim().replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
  return /^[0-9]{1,9}$/.test(text) && Number(text) > 0 ? Number(text) : null;
}

// The amount typed in `input`, or null after marking the field and saying what is wrong.
export function requireAmount(input, problem) {
  const amount = typedAmount(input);
  if (amount === null) {
    input.setAttribute("aria-invalid", "true");
    say(problem, t("wallet.pay.amount-invalid"));
    input.focus();
  } else {
    input.removeAttribute("aria-invalid");
  }
  return amount;
}

// Run `work` with `button` off, so that a second tap does not do it twice.
export async function withButtonOff(button, work) {
  if (button.disabled) return;
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

// A refusal in plain words: the message for its stable code, else a general one.
export function refusal(error) {
  if (error instanceof ApiError) {
    const key = "refusal." + error.code;
    if (MESSAGES.ja[key]) return t(key);
    if (error.status === 0) return t("refusal.offline");
    if (error.status >= 500) return t("refusal.server");
  }
  return t("refusal.other");
}

// Show `text` in the element (a live region, so a screen reader says it), or hide it.
export function say(element, text, kind = "error") {
  element.hidden = !text;
  element.textContent = text || "";
  element.className = "notice " + kind;
  if (text && element.id === "problem") element.scrollIntoView({ block: "nearest" });
}

export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "text") element.textContent = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return element;
}

// A short two-tone chime and a buzz: a payment went through.
export function chime() {
  try {
    const audio = new AudioContext();
    const now = audio.currentTime;
    for (const [index, frequency] of [880, 1318].entries()) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + index * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.3, now + index * 0.18 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + index * 0.18 + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + index * 0.18);
      tone.stop(now + index * 0.18 + 0.4);
    }
    setTimeout(() => audio.close(), 1000);
  } catch {
    // No sound on this device: the screen says it all the same.
  }
  if (navigator.vibrate) navigator.vibrate([120, 60, 120]);
}

// Views are <section data-view="name">; the address's #name shows one and hides the others.
export function showView(name) {
  let shown = null;
  for (const section of document.querySelectorAll("[data-view]")) {
    section.hidden = section.dataset.view !== name;
    if (!section.hidden) shown = section;
  }
  for (const link of document.querySelectorAll("nav.tabs a")) {
    if (link.getAttribute("href") === "#" + name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const heading = shown && shown.querySelector("h2");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  return shown;
}

// The header's language, text size and sign-out buttons.
export function setUpHeader({ onChange, onSignOut }) {
  document.documentElement.classList.toggle(
    "large-text",
    localStorage.getItem(LARGE_TEXT_KEY) === "1",
  );
  const languageButton = document.getElementById("language");
  const sizeButton = document.getElementById("text-size");
  const signOutButton = document.getElementById("sign-out");
  const label = () => {
    languageButton.textContent = language() === "ja" ? "English" : "日本語";
    languageButton.lang = language() === "ja" ? "en" : "ja";
    sizeButton.textContent = document.documentElement.classList.contains("large-text")
      ? t("text.standard")
      : t("text.large");
    translate();
  };
  languageButton.addEventListener("click", () => {
    localStorage.setItem(LANGUAGE_KEY, language() === "ja" ? "en" : "ja");
    label();
    onChange();
  });
  sizeButton.addEventListener("click", () => {
    const large = document.documentElement.classList.toggle("large-text");
    localStorage.setItem(LARGE_TEXT_KEY, large ? "1" : "0");
    label();
  });
  if (signOutButton) signOutButton.addEventListener("click", onSignOut);
  label();
}

// The regions, into a <select> (once).
export async function fillRegions(select, chosen) {
  if (select.options.length === 0) {
    const { regions } = await api("GET", "/v1/regions");
    select.replaceChildren(...regions.map((r) => el("option", { value: r.code, text: `${r.name} (${r.code})` })));
  }
  if (chosen) select.value = chosen;
}

// A form control with its label and hint, as every form of the pages lays them out.
export function labelled(control, label, hint) {
  const hintId = control.id + "-hint";
  if (hint) control.setAttribute("aria-describedby", hintId);
  return el(
    "div",
    {},
    el("label", { for: control.id }, label, hint ? [" ", el("span", { class: "hint", id: hintId, text: hint })] : null),
    control,
  );
}

// A list read a page at a time: `fetchPage(after)` gives `{ items, next_after }`, `draw(items)`
// shows all read so far, and the `more` button reads the next page while there is one.
export function pagedList({ more, fetchPage, draw, onError }) {
  let items = [];
  let after = null;
  let reading = 0; // which read is the latest: an answer to an earlier one is dropped
  const read = async (reset) => {
    const mine = ++reading;
    const page = await fetchPage(reset ? null : after);
    if (mine !== reading) return;
    items = reset ? page.items : [...items, ...page.items];
    after = page.items.length > 0 ? page.next_after : null;
    more.hidden = !after;
    draw(items);
  };
  more.addEventListener("click", () => withButtonOff(more, () => read(false).catch(onError)));
  return { reload: () => read(true) };
}

// A staff page's start: its header set up, then the signed-in session if it has one of `roles`;
// null when the browser went to sign in, or when the page said `notStaff` and shows nothing.
export async function staffSession({ path, roles, notStaff, problem, onChange }) {
  setUpHeader({
    onChange,
    onSignOut: async () => {
      location.assign((await signOut()) || `/signin/?next=${path}`);
    },
  });
  translate();
  const session = await currentSession();
  if (!session) {
    signIn();
    return null;
  }
  if (!session.roles.some((role) => roles.includes(role))) {
    say(problem, t(notStaff), "warn");
    showView("none");
    return null;
  }
  return session;
}

// `draw` run one call at a time, in the order asked: a slow view for an earlier choice never
// lands on the screen of a later one.
export function serially(draw) {
  let queue = Promise.resolve();
  return () => {
    queue = queue.then(draw);
    return queue;
  };
}
