// The wallet page's DOM: identity, consents with one-click grant/revoke (relayed: no gas),
// the access history, each decision read from its own entry bytes and its proof checked here
// against the root anchored on chain, and a signed consent receipt per consent to download.
const $ = (id) => document.getElementById(id);

function setStatus(text, ok = true) {
  const el = $("status");
  el.textContent = text;
  el.className = ok ? "ok" : "error";
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.appendChild(c); else td.textContent = String(c);
    tr.appendChild(td);
  }
  return tr;
}

function button(label, onClick, testId) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.testid = testId;
  b.addEventListener("click", onClick);
  return b;
}

export async function start(api) {
  const identity = api.loadIdentity();
  const gateway = new api.Gateway("");
  $("address").textContent = identity.address;
  $("pk-hash").textContent = await api.publicKeyHash(identity);
  document.body.dataset.ready = "identity";
  let facts;
  try {
    facts = await gateway.health();
  } catch (e) {
    setStatus(`gateway unreachable: ${e.message}`, false);
    return;
  }
  const provider = gateway.provider();
  const ledger = facts.contracts.ConsentLedger;
  const trail = facts.contracts.AuditTrail;
  const names = new Map();
  for (const n of ["energy.household_meter", "water.household_meter", "mobility.trip", "citizen.profile",
    "dpv:ServiceProvision", "dpv:PublicBenefit", "dpv:AcademicResearch", "dpv:CommercialResearch"]) names.set(api.termId(n), n);
  const label = (id) => names.get(id) || id;

  async function refreshConsents() {
    const { live } = await api.consentHistory(provider, ledger, identity.address);
    const now = (await provider.getBlock("latest")).timestamp;
    $("consents").replaceChildren(...live.filter((c) => c.expiry > now).map((c) => row([
      c.grantee, label(c.category), label(c.purpose), new Date(c.expiry * 1000).toISOString(),
      button("Revoke", () => submit("revoke", c), "revoke"),
    ])));
  }

  async function send(kind, terms) {
    try {
      return await api.relayConsent(gateway, identity, provider, ledger, facts.chain_id, kind, terms);
    } catch (e) {
      if (!api.relayMissing(e)) throw e;
      return api.sendConsent(identity, provider, ledger, kind, terms); // needs gas
    }
  }

  async function submit(kind, terms) {
    setStatus(`${kind}: signing…`);
    try {
      const done = await send(kind, terms);
      await refreshConsents();
      const how = done.relayed ? "relayed by the gateway, no gas" : "your own transaction";
      setStatus(`${kind} mined in block ${done.block} (${how})`);
      document.body.dataset.lastBlock = String(done.block);
      document.body.dataset.relayed = String(Boolean(done.relayed));
    } catch (e) {
      setStatus(`${kind} failed: ${e.code ? e.code + ": " : ""}${e.shortMessage || e.message}`, false);
    }
  }

  function receiptRow(r) {
    const link = document.createElement("a");
    link.textContent = "download";
    link.download = `consent-receipt-${r.record_id}.jws`;
    link.href = URL.createObjectURL(new Blob([r.jws], { type: "application/jose" }));
    link.dataset.testid = "receipt-download";
    const tr = row([r.grantee, label(r.category), label(r.purpose), r.state,
      r.verified ? "signature verified" : "SIGNATURE INVALID", link]);
    tr.dataset.verified = String(r.verified);
    return tr;
  }

  $("grant-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const now = (await provider.getBlock("latest")).timestamp;
    await submit("grant", {
      grantee: f.get("grantee"), category: f.get("category"), purpose: f.get("purpose"),
      expiry: now + Number(f.get("days") || 30) * 86400,
    });
  });

  $("login").addEventListener("click", async () => {
    try {
      const tok = await gateway.login(identity);
      const history = await gateway.call("/me/decisions");
      const rows = [];
      for (const d of history.decisions) {
        const c = await api.checkDecision(provider, trail, d);
        const tr = row([c.entry.seq, c.entry.actor, c.entry.category, c.entry.purpose,
          c.entry.allowed ? "allowed" : "denied", new Date(c.entry.decidedAtMs).toISOString(),
          !c.leafOk ? "leaf does not match entry" : c.anchored ? "proof verified" : "not anchored yet"]);
        tr.dataset.proof = c.anchored ? "verified" : "none";
        rows.push(tr);
      }
      $("history").replaceChildren(...rows);
      const receipts = await api.consentReceipts(gateway);
      $("receipts").replaceChildren(...receipts.map(receiptRow));
      setStatus(`signed in as ${tok.sub}; ${rows.length} decisions about your data`);
    } catch (e) {
      setStatus(`sign-in failed: ${e.code || ""} ${e.message}`, false);
    }
  });

  await refreshConsents().catch((e) => setStatus(`cannot read consents: ${e.message}`, false));
  setStatus("ready");
  document.body.dataset.ready = "page";
}
