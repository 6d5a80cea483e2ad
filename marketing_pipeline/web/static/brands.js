// Every brand side by side: each from its own warehouse, in its own currency and days.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  const whole = new Intl.NumberFormat(undefined, {maximumFractionDigits: 0});
  const money = (v, code) => v == null ? "n/a" : new Intl.NumberFormat(undefined,
    {style: "currency", currency: code, minimumFractionDigits: 0, maximumFractionDigits: 0}).format(Number(v));
  const link = (b) => `/dashboard?brand=${encodeURIComponent(b.id)}`;

  function card(b) {
    const head = `<h2><a href="${link(b)}">${esc(b.name)}</a></h2>` +
      `<p class="muted">${esc(b.currency)} · ${esc(b.timezone)} · today ${esc(b.today)}</p>`;
    if (b.status !== "ok" && b.status !== "no data")
      return head + `<p class="status-bad" data-status="${esc(b.status)}">${esc(b.message)}</p>` + failed(b);
    const figures = b.windows.map((w) =>
      `<div class="kpi" data-window="${w.days}"><div class="label">Last ${w.days} days (${esc(w.start)} to ${esc(w.end)})</div>` +
      `<div class="value" data-figure="revenue">${money(w.revenue, b.currency)}</div>` +
      `<div class="muted" data-figure="orders">${whole.format(w.orders)} orders</div></div>`).join("");
    const empty = b.has_data ? "" : `<p class="muted" data-status="no data">No data yet: nothing has been loaded for this brand.</p>`;
    const fresh = b.freshness.length
      ? `<table class="freshness"><tr><th>Source</th><th>Last loaded day</th></tr>` + b.freshness.map((f) =>
          `<tr><td>${esc(f.source)}</td><td>${f.source_absent ? '<span class="muted">not connected</span>'
            : f.last_loaded_day == null ? '<span class="muted">never</span>'
            : f.days_behind > 1 ? `<span class="status-bad">${esc(f.last_loaded_day)} (${f.days_behind} days behind)</span>`
            : `<span class="status-ok">${esc(f.last_loaded_day)}</span>`}</td></tr>`).join("") + "</table>"
      : "";
    return head + empty + `<div class="figures">${figures}</div>` + fresh + failed(b);
  }

  function failed(b) {
    if (b.failed == null) return '<p class="muted" data-failed="unknown">Failed partitions: unknown (Dagster not reachable)</p>';
    if (!b.failed.count) return '<p class="status-ok" data-failed="0">No failed partitions</p>';
    return `<p class="status-bad" data-failed="${b.failed.count}">${b.failed.count} failed partition(s)</p><table>` +
      "<tr><th>Job</th><th>Partition</th><th>Failed at</th></tr>" + b.failed.partitions.map((p) =>
        `<tr><td>${esc(p.job)}</td><td>${esc(p.partition)}</td><td>${esc(p.at)}</td></tr>`).join("") + "</table>";
  }

  async function load() {
    const res = await fetch("/dashboard/api/brands");
    const d = await res.json();
    if (!res.ok) { $("warnings").innerHTML = `<div class="warn">${esc(d.error)}</div>`; return; }
    $("brand-switch").innerHTML = '<a href="/dashboard/brands" data-brand="" class="current" aria-current="page">All brands</a>' +
      d.brands.map((b) => `<a href="${link(b)}" data-brand="${esc(b.id)}">${esc(b.name)}</a>`).join("");
    $("generated").textContent = "As of " + d.generated_at;
    $("warnings").innerHTML = d.dagster.reachable ? ""
      : `<div class="warn" id="dagster-warning">Dagster instance not reachable: ${esc(d.dagster.message)}. Failed partitions are not shown.</div>`;
    $("brands").innerHTML = d.brands.map((b) =>
      `<div class="card brand-card" data-brand="${esc(b.id)}" data-status="${esc(b.status)}">${card(b)}</div>`).join("");
    document.body.dataset.loaded = "brands";
  }
  load();
})();
