// The dashboard: one JSON request per date range, every panel drawn from it.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const money = (v) => v == null ? "n/a" : "$" + Number(v).toLocaleString(undefined, {maximumFractionDigits: 0});
  const num = (v) => v == null ? "n/a" : Number(v).toLocaleString(undefined, {maximumFractionDigits: 0});
  const pct = (v) => v == null || !isFinite(v) ? "n/a" : (100 * v).toFixed(1) + "%";
  const ratio = (a, b) => (a == null || !b) ? null : a / b;
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  const layout = (extra) => Object.assign({margin: {l: 48, r: 12, t: 8, b: 36}, paper_bgcolor: "#fff",
    plot_bgcolor: "#fff", font: {size: 12}, legend: {orientation: "h", y: -0.2}}, extra || {});
  const config = {displayModeBar: false, responsive: true};

  function change(cur, prev) {
    if (cur == null || prev == null || prev === 0) return '<span class="flat">no previous</span>';
    const c = (cur - prev) / Math.abs(prev);
    const cls = c > 0.005 ? "up" : c < -0.005 ? "down" : "flat";
    return `<span class="${cls}">${c >= 0 ? "+" : ""}${(100 * c).toFixed(1)}% vs previous</span>`;
  }

  function kpis(d) {
    const c = d.kpis.current, p = d.kpis.previous;
    const cards = [
      ["Revenue", money(c.revenue), c.revenue, p.revenue],
      ["Orders", num(c.orders), c.orders, p.orders],
      ["Average order value", money(ratio(c.revenue, c.orders)), ratio(c.revenue, c.orders), ratio(p.revenue, p.orders)],
      ["New customers", num(c.new_customers), c.new_customers, p.new_customers],
      ["Returning customers", num(c.returning_customers), c.returning_customers, p.returning_customers],
      ["Website sessions", num(c.sessions), c.sessions, p.sessions],
      ["Email revenue", money(c.email_revenue), c.email_revenue, p.email_revenue],
    ];
    $("kpis").innerHTML = cards.map(([label, shown, cur, prev]) =>
      `<div class="kpi" data-kpi="${esc(label)}"><div class="label">${esc(label)}</div>` +
      `<div class="value">${shown}</div><div class="muted">${change(cur, prev)}</div></div>`).join("");
  }

  function revenue(d) {
    const channels = [...new Set(d.channels.map((r) => r.channel))];
    const traces = channels.map((ch) => {
      const rows = d.channels.filter((r) => r.channel === ch);
      return {type: "bar", name: ch, x: rows.map((r) => r.day), y: rows.map((r) => r.revenue)};
    });
    Plotly.react("chart-revenue", traces, layout({barmode: "stack", yaxis: {tickprefix: "$"}}), config);
  }

  function funnel(d) {
    const traces = [], rows = [];
    const order = [...new Map(d.funnel.slice().sort((a, b) => a.stage_no - b.stage_no).map((r) => [r.stage, r])).keys()];
    for (const ch of ["tiktok", "website"]) {
      const stages = d.funnel.filter((r) => r.channel === ch);
      const known = stages.filter((r) => r.value != null && r.value > 0);
      traces.push({type: "bar", orientation: "h", name: ch, y: known.map((r) => r.stage), x: known.map((r) => r.value),
                   text: known.map((r) => num(r.value)), textposition: "auto"});
      let prev = null;
      for (const r of stages) {
        const complete = r.value != null;
        const conv = complete && prev != null ? ratio(r.value, prev) : null;
        const shown = !complete ? '<span class="status-bad">no data</span>'
          : num(r.value) + (r.days_missing ? ` <span class="status-bad" title="days without this source">(${r.days_missing} d missing)</span>` : "");
        rows.push(`<tr><td>${esc(ch)}</td><td>${esc(r.stage)}</td><td class="num">${shown}</td>` +
                  `<td class="num">${pct(conv)}</td><td class="num">${conv == null ? "n/a" : pct(1 - conv)}</td></tr>`);
        prev = complete ? r.value : null;
      }
    }
    Plotly.react("chart-funnel", traces, layout({barmode: "group", margin: {l: 110, r: 12, t: 8, b: 30},
      xaxis: {type: "log", title: {text: "count (log scale)"}},
      yaxis: {categoryorder: "array", categoryarray: order.slice().reverse()}}), config);
    $("funnel-table").innerHTML = '<tr><th>Channel</th><th>Stage</th><th class="num">Count</th><th class="num">Conversion</th><th class="num">Drop-off</th></tr>' + rows.join("");
  }

  function overview(d) {
    const c = d.kpis.current, p = d.kpis.previous;
    const groups = {
      Engagement: [["TikTok video views", c.video_views, p.video_views, num], ["Engagements", c.engagements, p.engagements, num],
                   ["Engagement rate", ratio(c.engagements, c.video_views), ratio(p.engagements, p.video_views), pct],
                   ["Shop clicks", c.shop_clicks, p.shop_clicks, num]],
      Traffic: [["Sessions", c.sessions, p.sessions, num], ["Add to cart", c.add_to_carts, p.add_to_carts, num],
                ["Checkouts started", c.checkouts, p.checkouts, num]],
      Revenue: [["Net revenue", c.revenue, p.revenue, money], ["Orders", c.orders, p.orders, num],
                ["AOV", ratio(c.revenue, c.orders), ratio(p.revenue, p.orders), money], ["Refunds", c.refunds, p.refunds, money]],
      Email: [["Sent", c.email_sent, p.email_sent, num],
              ["Delivery rate", ratio(c.email_delivered, c.email_sent), ratio(p.email_delivered, p.email_sent), pct],
              ["Open rate", ratio(c.email_opens, c.email_delivered), ratio(p.email_opens, p.email_delivered), pct],
              ["Click rate", ratio(c.email_clicks, c.email_delivered), ratio(p.email_clicks, p.email_delivered), pct],
              ["Unsubscribe rate", ratio(c.email_unsubscribes, c.email_delivered), ratio(p.email_unsubscribes, p.email_delivered), pct],
              ["Bounce rate", ratio(c.email_bounces, c.email_sent), ratio(p.email_bounces, p.email_sent), pct],
              ["Conversions", c.email_conversions, p.email_conversions, num],
              ["Revenue per recipient", ratio(c.email_revenue, c.email_recipients), ratio(p.email_revenue, p.email_recipients), money]],
    };
    let html = '<tr><th>Metric</th><th class="num">Value</th><th class="num">Change</th></tr>';
    for (const [group, metrics] of Object.entries(groups)) {
      html += `<tr><th colspan="3">${group}</th></tr>`;
      for (const [label, cur, prev, fmt] of metrics)
        html += `<tr><td>${label}</td><td class="num">${fmt(cur)}</td><td class="num">${change(cur, prev)}</td></tr>`;
    }
    $("overview").innerHTML = html;
  }

  function segments(d) {
    const s = d.segments, asOf = s.length ? s[0].as_of : null, before = s.length ? s[0].before_as_of : null;
    const traces = [{type: "bar", name: "as of " + (asOf || "n/a"), x: s.map((r) => r.segment), y: s.map((r) => r.customers)}];
    if (before && before !== asOf) traces.unshift({type: "bar", name: "as of " + before, x: s.map((r) => r.segment), y: s.map((r) => r.before)});
    Plotly.react("chart-segments", traces, layout({barmode: "group"}), config);
  }

  function rfm(d) {
    const moves = d.rfm_moves;
    const names = [...new Set(moves.flatMap((m) => [m.source + " ", m.target]))];
    const idx = (n) => names.indexOf(n);
    Plotly.react("chart-rfm", [{type: "sankey", node: {label: names, pad: 8},
      link: {source: moves.map((m) => idx(m.source + " ")), target: moves.map((m) => idx(m.target)), value: moves.map((m) => m.customers)}}],
      layout({margin: {l: 8, r: 8, t: 8, b: 8}}), config);
  }

  function cohorts(d) {
    const months = [...new Set(d.cohorts.map((r) => r.cohort_month))];
    const maxSince = Math.max(0, ...d.cohorts.map((r) => r.months_since));
    const z = months.map((m) => Array.from({length: maxSince + 1}, (_, k) => {
      const r = d.cohorts.find((x) => x.cohort_month === m && x.months_since === k);
      return r ? r.retention : null;
    }));
    Plotly.react("chart-cohorts", [{type: "heatmap", x: Array.from({length: maxSince + 1}, (_, k) => k), y: months, z: z,
      colorscale: "Blues", reversescale: true, zmin: 0,
      zmax: Math.max(0.05, ...d.cohorts.filter((r) => r.months_since > 0).map((r) => r.retention)),
      hovertemplate: "cohort %{y}<br>month %{x}: %{z:.1%}<extra></extra>"}],
      layout({xaxis: {title: {text: "months since first order"}, dtick: 1}, yaxis: {type: "category"}, margin: {l: 90, r: 12, t: 8, b: 40}}), config);
  }

  function table(id, head, rows) {
    $(id).innerHTML = "<tr>" + head.map((h) => `<th${h.num ? ' class="num"' : ""}>${h.label}</th>`).join("") + "</tr>" +
      (rows.length ? rows.map((r) => "<tr>" + head.map((h) => `<td${h.num ? ' class="num"' : ""}>${h.fmt ? h.fmt(r[h.key]) : esc(r[h.key])}</td>`).join("") + "</tr>").join("")
                   : `<tr><td colspan="${head.length}" class="muted">nothing in this range</td></tr>`);
  }

  function carts(d) {
    const el = $("cart-recovery");
    if (!d.cart_recovery) { el.innerHTML = '<p class="muted">Cart recovery results are not available yet (marts.cart_recovery_daily is absent).</p>'; return; }
    el.innerHTML = '<table id="cart-table"></table>';
    table("cart-table", [{label: "Step", key: "step", fmt: (s) => s === 0 ? "all steps" : "step " + s},
      {label: "Carts", key: "carts", num: true, fmt: num}, {label: "Emails", key: "emails_sent", num: true, fmt: num},
      {label: "Recovered", key: "recovered", num: true, fmt: num}, {label: "Rate", key: "rate", num: true, fmt: pct},
      {label: "Revenue", key: "revenue", num: true, fmt: money}], d.cart_recovery);
  }

  function freshness(d) {
    table("freshness", [{label: "Source", key: "source"}, {label: "Last loaded day", key: "last_loaded_day", fmt: (v) => esc(v || "never")},
      {label: "Status in range", key: "missing_in_range", fmt: (v) => v == null ? '<span class="muted">n/a</span>' : v ? `<span class="status-bad">${v} day(s) incomplete</span>` : '<span class="status-ok">complete</span>'}],
      d.freshness.map((f) => Object.assign({}, f, {missing_in_range: f.source_absent ? null : f.missing_in_range,
        last_loaded_day: f.source_absent ? "source not connected" : f.last_loaded_day})));
    const bad = d.freshness.filter((f) => !f.source_absent && f.missing_in_range > 0);
    const absent = d.freshness.filter((f) => f.source_absent).map((f) => f.source);
    $("warnings").innerHTML = bad.map((f) => `<div class="warn">Incomplete data: <b>${esc(f.source)}</b> is missing ${f.missing_in_range} day(s) in this range` +
      (f.missing_days.length ? ` (${f.missing_days.slice(0, 7).map(esc).join(", ")}${f.missing_days.length > 7 ? ", ..." : ""})` : "") +
      ". Figures that depend on it are marked incomplete, not zero.</div>").join("") +
      (absent.length ? `<div class="warn">Not connected yet: ${absent.map(esc).join(", ")}. Their panels show n/a.</div>` : "");
  }

  async function load(start, end, prefetched) {
    const qs = start && end ? `?start=${start}&end=${end}` : "";
    const res = await (prefetched || fetch("/dashboard/api/data" + qs));
    const d = await res.json();
    if (!res.ok) { $("warnings").innerHTML = `<div class="warn">${esc(d.error)}</div>`; return; }
    $("start").value = d.range.start; $("end").value = d.range.end;
    $("period").textContent = `${d.range.start} to ${d.range.end}, compared with ${d.range.previous_start} to ${d.range.previous_end}`;
    kpis(d); revenue(d); funnel(d); overview(d); segments(d); rfm(d); cohorts(d); carts(d); freshness(d);
    table("email-campaigns", [{label: "Platform", key: "platform"}, {label: "Type", key: "kind"}, {label: "Name", key: "name"},
      {label: "Orders", key: "orders", num: true, fmt: num}, {label: "Revenue", key: "revenue", num: true, fmt: money}], d.email_campaigns);
    table("campaigns", [{label: "Channel", key: "channel"}, {label: "Campaign", key: "campaign"},
      {label: "Orders", key: "orders", num: true, fmt: num}, {label: "Revenue", key: "revenue", num: true, fmt: money}], d.campaigns);
    document.body.dataset.loaded = d.range.start + ".." + d.range.end;
    if (start || end) history.replaceState(null, "", `?start=${d.range.start}&end=${d.range.end}`);
  }

  $("range").addEventListener("submit", (e) => { e.preventDefault(); load($("start").value, $("end").value); });
  document.querySelectorAll(".presets button").forEach((b) => b.addEventListener("click", () => {
    const end = $("end").value ? new Date($("end").value) : new Date();
    const start = new Date(end.getTime() - (Number(b.dataset.days) - 1) * 86400000);
    load(start.toISOString().slice(0, 10), end.toISOString().slice(0, 10));
  }));
  const q = new URLSearchParams(location.search);
  load(q.get("start"), q.get("end"), window.dashboardFirstLoad);
})();
