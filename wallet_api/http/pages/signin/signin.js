// The sign-in page: the city's provider when there is one, else the local sign-in (marked as
// a trial sign-in, without a password) that the embedded default offers.
import { api } from "/static/api.js";
import { refusal, say, setUpHeader, t, translate } from "/static/ui.js";

const form = document.getElementById("local-form");
const problem = document.getElementById("problem");
const query = new URLSearchParams(location.search);

// Where to go after signing in: a page of this service only, never another site.
function pageOfThisService(wanted) {
  try {
    const target = new URL(wanted || "/app/", location.origin);
    if (target.origin === location.origin) return target.pathname + target.search + target.hash;
  } catch {
    // Not a URL at all.
  }
  return "/app/";
}

const sameSite = pageOfThisService(query.get("next"));

// The field that names where a scoped role works: the shop of its staff, the counter of its
// cashier.
const SCOPE_FIELDS = { merchant_staff: "merchant", cashier: "counter" };
// The role a page is for, chosen before the person chooses.
const ROLE_OF_PAGE = [
  ["/shop", "merchant_staff"],
  ["/city-hall", "cashier"],
  ["/campaign-office", "campaign_admin"],
  ["/console", "operator"],
  ["/economics", "economist"],
];

function roleChanged() {
  for (const [role, field] of Object.entries(SCOPE_FIELDS)) {
    const shown = form.elements.role.value === role;
    document.getElementById(field + "-field").hidden = !shown;
    document.getElementById(field).required = shown;
  }
}

async function start() {
  setUpHeader({ onChange: () => {} });
  document.getElementById("failed").hidden = query.get("failed") !== "1";
  const options = await api("GET", "/v1/session/options");
  if (options.provider) {
    document.getElementById("provider").hidden = false;
    document.getElementById("provider-link").href =
      "/v1/session/sign-in?next=" + encodeURIComponent(sameSite);
  }
  if (options.local) {
    document.getElementById("local-notice").hidden = false;
    form.hidden = false;
    const [, role] = ROLE_OF_PAGE.find(([prefix]) => sameSite.startsWith(prefix)) || [];
    if (role) form.elements.role.value = role;
  }
  roleChanged();
  translate();
}

form.addEventListener("change", roleChanged);
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(problem, "");
  const subject = document.getElementById("subject");
  subject.setAttribute("aria-invalid", String(!subject.checkValidity()));
  if (!form.checkValidity()) {
    say(problem, t("refusal.validation_error"));
    return;
  }
  const body = { subject: subject.value, role: form.elements.role.value };
  const scope = SCOPE_FIELDS[body.role];
  if (scope) body[scope] = document.getElementById(scope).value.trim();
  try {
    await api("POST", "/v1/session/local", body, { signInOn401: false });
    location.assign(sameSite);
  } catch (error) {
    say(problem, refusal(error));
  }
});

start();
