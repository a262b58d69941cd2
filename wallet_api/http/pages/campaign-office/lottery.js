// A lottery re-run in the browser from what the service published, as the README's "Checking a
// lottery" says: the seed must hash to the commitment published before anyone applied, and
// the winners of every round must be those the seed and the applications give.

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// The applications ranked by sha256(seed + ":" + id) as hex, then by id.
async function ranking(seed, applications) {
  const keyed = await Promise.all(
    applications.map(async (application) => ({ key: await sha256Hex(`${seed}:${application.id}`), ...application })),
  );
  return keyed.sort((a, b) => order(a.key, b.key) || order(a.id, b.id));
}

// { ok: true, rounds } or { ok: false, round } (round 0: the seed is not the one committed to).
export async function checkLottery(lottery, commitment) {
  if (!lottery.seed || (await sha256Hex(lottery.seed)) !== commitment) return { ok: false, round: 0 };
  const ranked = await ranking(lottery.seed, lottery.applications);
  let position = 0;
  for (const round of lottery.rounds) {
    // Each round walks on down the ranking, granting each application its sets while any are left.
    const winners = [];
    let left = round.sets;
    while (left > 0 && position < ranked.length) {
      const granted = Math.min(ranked[position].sets, left);
      winners.push({ id: ranked[position].id, sets: granted });
      left -= granted;
      position += 1;
    }
    const same =
      position === round.next_position &&
      winners.length === round.winners.length &&
      winners.every((winner, index) => winner.id === round.winners[index].id && winner.sets === round.winners[index].sets);
    if (!same) return { ok: false, round: round.round };
  }
  return { ok: true, rounds: lottery.rounds.length };
}
