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

function roleChanged() {
  const staff = form.elements.role.value === "merchant_staff";
  document.getElementById("merchant-field").hidden = !staff;
  document.getElementById("merchant").required = staff;
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
    if (sameSite.startsWith("/shop")) form.elements.role.value = "merchant_staff";
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
  if (body.role === "merchant_staff") body.merchant = document.getElementById("merchant").value;
  try {
    await api("POST", "/v1/session/local", body, { signInOn401: false });
    location.assign(sameSite);
  } catch (error) {
    say(problem, refusal(error));
  }
});

start();
