// Campaigns a resident can take part in (filled in below).
import { showView } from "/static/ui.js";

export async function showCampaigns() {
  showView("campaigns");
}

export function setUpCampaigns() {}
