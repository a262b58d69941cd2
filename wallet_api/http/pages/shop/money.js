// The shop's money (filled in below).
import { showView } from "/static/ui.js";

export async function showMoney() {
  showView("money");
}
