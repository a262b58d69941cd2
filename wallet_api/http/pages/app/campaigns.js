// The campaigns a resident can take part in: premium sets (bought outright or by lottery),
// spend-back and benefits; applying, buying, and the result, in plain words.

import { api, formChange } from "/static/api.js";
import { dateTime, day, el, points, refusal, say, showView, t, yen } from "/static/ui.js";

const inWindow = (from, until) => Date.now() >= Date.parse(from) && Date.now() < Date.parse(until);

function setsForm(context, { label, button, max, onSubmit }) {
  const id = "sets-" + Math.random().toString(36).slice(2);
  const input = el("input", { id, inputmode: "numeric", value: "1", autocomplete: "off" });
  const form = el(
    "form",
    { novalidate: true },
    el("label", { for: id, text: label }),
    el("span", { class: "hint", text: t("campaign.sets-most", { sets: max }) }),
    input,
    el("div", { class: "actions" }, el("button", { type: "submit", text: button })),
  );
  const submit = formChange(
    form,
    () => {
      const text = input.value.trim();
      if (!/^[0-9]{1,3}$/.test(text) || Number(text) < 1 || Number(text) > max) {
        input.setAttribute("aria-invalid", "true");
        say(context.problem, t("campaign.sets-invalid", { sets: max }));
        return null;
      }
      input.removeAttribute("aria-invalid");
      return { sets: Number(text) };
    },
    async (body, key) => {
      await onSubmit(body.sets, key);
      return true;
    },
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(context.problem, "");
    try {
      if (await submit()) await showCampaigns(context);
    } catch (error) {
      say(context.problem, refusal(error));
    }
  });
  return form;
}

function premiumSets(context, campaign) {
  const terms = campaign.terms;
  const mine = campaign.mine;
  const walletId = context.state.wallet.id;
  const parts = [
    el("p", {
      text: t("campaign.premium.offer", {
        price: t("yen", { amount: yen(terms.price) }),
        points: points(terms.points_per_set),
      }),
    }),
  ];
  if (terms.restricted_points_per_set > 0) {
    parts.push(el("p", { text: t("campaign.premium.local", { points: points(terms.restricted_points_per_set) }) }));
  }
  parts.push(
    el("p", { class: "quiet", text: t("campaign.premium.limits", { sets: terms.sets_per_person, left: campaign.sets_left }) }),
    el("p", { class: "quiet", text: t("campaign.valid-until", { date: day(terms.valid_until) }) }),
  );
  const buyable = (max) =>
    setsForm(context, {
      label: t("campaign.buy-sets"),
      button: t("campaign.buy"),
      max,
      onSubmit: (sets, key) =>
        api("POST", `/v1/campaigns/${campaign.id}/purchases`, { wallet_id: walletId, sets }, { key }),
    });
  if (mine.sets_bought) {
    parts.push(el("p", { class: "notice ok", text: t("campaign.bought", { sets: mine.sets_bought }) }));
  }
  const lottery = mine.lottery;
  if (terms.applications_from) {
    parts.push(
      el("p", {
        class: "quiet",
        text: t("campaign.lottery.window", {
          from: dateTime(terms.applications_from),
          until: dateTime(terms.applications_until),
        }),
      }),
    );
    if (lottery.state === "not_applied") {
      if (campaign.eligible && inWindow(terms.applications_from, terms.applications_until)) {
        parts.push(
          setsForm(context, {
            label: t("campaign.apply-sets"),
            button: t("campaign.apply"),
            max: terms.sets_per_person,
            onSubmit: (sets, key) =>
              api("POST", `/v1/campaigns/${campaign.id}/applications`, { wallet_id: walletId, sets }, { key }),
          }),
        );
      }
    } else if (lottery.state === "not_drawn") {
      parts.push(el("p", { class: "notice", text: t("campaign.lottery.waiting", { sets: mine.applied_sets }) }));
    } else if (lottery.state === "won") {
      const left = lottery.won_sets - (mine.sets_bought || 0);
      parts.push(
        el("p", {
          class: "notice ok",
          text: t("campaign.lottery.won", {
            sets: lottery.won_sets,
            until: dateTime(lottery.purchase_until),
          }),
        }),
      );
      if (left > 0 && inWindow(lottery.purchase_from, lottery.purchase_until)) parts.push(buyable(left));
    } else if (lottery.state === "not_won") {
      parts.push(el("p", { class: "notice", text: t("campaign.lottery.lost") }));
    }
  } else {
    parts.push(
      el("p", {
        class: "quiet",
        text: t("campaign.sale", { from: dateTime(terms.sale_from), until: dateTime(terms.sale_until) }),
      }),
    );
    const left = terms.sets_per_person - (mine.sets_bought || 0);
    if (campaign.eligible && left > 0 && campaign.sets_left > 0 && inWindow(terms.sale_from, terms.sale_until)) {
      parts.push(buyable(Math.min(left, campaign.sets_left)));
    }
  }
  return parts;
}

function spendBack(campaign) {
  const terms = campaign.terms;
  return [
    el("p", {
      text: t("campaign.spend-back.offer", {
        percent: terms.rate_basis_points / 100,
        cap: points(terms.per_person_cap),
      }),
    }),
    el("p", { class: "quiet", text: t("campaign.sale", { from: dateTime(terms.earn_from), until: dateTime(terms.earn_until) }) }),
    el("p", { class: "notice", text: t("campaign.spend-back.earned", { points: points(campaign.mine.points_earned || 0) }) }),
  ];
}

function benefit(campaign) {
  const received = campaign.mine.points_received || 0;
  return [
    el("p", { text: t("campaign.benefit.offer", { points: points(campaign.terms.points_per_person) }) }),
    el("p", {
      class: received ? "notice ok" : "notice",
      text: received ? t("campaign.benefit.received", { points: points(received) }) : t("campaign.benefit.waiting"),
    }),
  ];
}

function campaignCard(context, campaign) {
  const body =
    campaign.kind === "premium_sets"
      ? premiumSets(context, campaign)
      : campaign.kind === "spend_back"
        ? spendBack(campaign)
        : benefit(campaign);
  return el(
    "article",
    { class: "card", "data-campaign": campaign.id },
    el("h3", { text: campaign.name }),
    el("p", { class: "quiet", text: t("campaign.kind." + campaign.kind) + " · " + t("campaign.phase." + campaign.phase) }),
    campaign.eligible ? null : el("p", { class: "notice warn", text: t("campaign.not-eligible") }),
    ...body,
  );
}

export async function showCampaigns(context) {
  showView("campaigns");
  const { campaigns } = await api("GET", `/v1/wallets/${context.state.wallet.id}/campaigns`);
  document.getElementById("campaign-list").replaceChildren(...campaigns.map((c) => campaignCard(context, c)));
  document.getElementById("no-campaigns").hidden = campaigns.length > 0;
}

export function setUpCampaigns() {}
