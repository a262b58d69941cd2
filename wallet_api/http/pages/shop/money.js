// The shop's money: the points it holds, when they are paid out to its bank account, and the
// payouts so far with their state at the bank.

import { api } from "/static/api.js";
import { day, el, showView, t, yen } from "/static/ui.js";

const money = (amount) => t("yen", { amount: yen(amount) });

export async function showMoney(context) {
  showView("money");
  const account = await api("GET", `/v1/merchants/${context.state.merchant.id}/account`);
  const schedule = account.payout_schedule;
  const parts = [
    el("p", { class: "quiet", text: t("shop.money.available") }),
    el("p", { class: "big-number", id: "money-available", text: money(account.available) }),
  ];
  if (account.pending) {
    parts.push(el("p", { class: "quiet", text: t("shop.money.pending", { amount: money(account.pending) }) }));
  }
  parts.push(el("h3", { text: t("shop.money.schedule") }));
  if (schedule) {
    const days = schedule.payout_days.map((d) => (d >= 31 ? t("shop.money.month-end") : t("shop.money.day", { day: d })));
    parts.push(
      el("p", { text: t("shop.money.days", { days: days.join("・") }) }),
      el("p", { class: "notice", text: t("shop.money.next", { date: day(schedule.next_payout_date) }) }),
    );
  } else {
    parts.push(el("p", { text: t("shop.money.no-schedule") }));
  }
  parts.push(el("h3", { text: t("shop.money.payouts") }));
  if (account.payouts.length === 0) {
    parts.push(el("p", { text: t("shop.money.no-payouts") }));
  } else {
    parts.push(
      el(
        "ul",
        { class: "plain" },
        ...account.payouts.map((payout) =>
          el(
            "li",
            { class: "row" },
            el("span", {}, el("strong", { text: day(payout.transfer_date) }), el("br"), t("shop.money.status." + payout.status)),
            el("span", { class: "amount", text: money(payout.amount) }),
          ),
        ),
      ),
    );
  }
  document.getElementById("money-body").replaceChildren(...parts);
}
