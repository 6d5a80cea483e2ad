// The dashboard: one JSON request per brand and date range, every panel drawn from it.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  // one formatter for every number: toLocaleString builds a new one on each call
  const whole = new Intl.NumberFormat(undefined, {maximumFractionDigits: 0});
  // money in the brand's currency (the data names it); one formatter per currency
  const moneyFormats = new Map();
  let currency = "USD";
  const moneyFormat = (code) => {
    if (!moneyFormats.has(code)) moneyFormats.set(code, new Intl.NumberFormat(undefined,
      {style: "currency", currency: code, minimumFractionDigits: 0, maximumFractionDigits: 0}));
    return moneyFormats.get(code);
  };
  const money = (v) => v == null ? "n/a" : moneyFormat(currency).format(Number(v));
  // the brand in the URL (?brand=), kept on every request and link; absent: the default brand
  const brandParam = new URLSearchParams(location.search).get("brand");
  const withBrand = (qs) => {
    const q = new URLSearchParams(qs);
    if (brandParam) q.set("brand", brandParam);
    const s = q.toString();
    return s ? "?" + s : "";
  };
  const num = (v) => v == null ? "n/a" : whole.format(Number(v));
  const pct = (v) => v == null || !isFinite(v) ? "n/a" : (100 * v).toFixed(1) + "%";
  const ratio = (a, b) => (a == null || !b) ? null : a / b;
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  const CHARTS = ["chart-revenue", "chart-funnel", "chart-segments", "chart-rfm", "chart-cohorts",
                  "chart-clv", "chart-churn", "chart-holdout"];
  const legend = {bottom: 0, type: "scroll"};
  const PALETTE = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"];

  // One ECharts instance per chart, kept across date ranges; notMerge drops the previous range's
  // series. Canvas (SVG measured no faster here, with more DOM); without animation a chart is
  // complete as soon as setOption returns.
  function draw(id, option) {
    const el = $(id);
    const chart = echarts.getInstanceByDom(el) || echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(Object.assign({animation: false}, option, {tooltip: Object.assign({confine: true}, option.tooltip)}), {notMerge: true});
  }

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
    const days = [...new Set(d.channels.map((r) => r.day))].sort();
    const byKey = new Map(d.channels.map((r) => [r.channel + "|" + r.day, r.revenue]));
    draw("chart-revenue", {
      legend, grid: {left: 8, right: 16, top: 12, bottom: 32, containLabel: true},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, valueFormatter: money},
      xAxis: {type: "time", minInterval: 86400000, axisLabel: {formatter: {day: "{MMM} {d}"}}},  // no ticks within a day
      yAxis: {type: "value", axisLabel: {formatter: money}},
      // every channel gets every day (null where it has none): stacks line up by position
      series: channels.map((ch) => ({type: "bar", name: ch, stack: "revenue", barMaxWidth: 48,
        data: days.map((day) => [day, byKey.has(ch + "|" + day) ? byKey.get(ch + "|" + day) : null])})),
    });
  }

  function funnel(d) {
    const series = [], rows = [];
    const order = [...new Map(d.funnel.slice().sort((a, b) => a.stage_no - b.stage_no).map((r) => [r.stage, r])).keys()];
    // only stages with a count to draw (a log axis has no zero), top to bottom in funnel order
    const drawn = order.filter((st) => d.funnel.some((r) => r.stage === st && r.value > 0));
    for (const ch of ["tiktok", "website"]) {
      const stages = d.funnel.filter((r) => r.channel === ch);
      series.push({type: "bar", name: ch, label: {show: true, position: "right", formatter: (p) => num(p.value)},
        data: drawn.map((st) => { const r = stages.find((x) => x.stage === st); return r && r.value > 0 ? r.value : null; })});
      // value is null when the stage's source missed a day of the range (n/a, never a partial
      // count); conversion and drop-off come from the server, only between two complete stages
      for (const r of stages) {
        const shown = r.value != null ? num(r.value)
          : r.days_missing ? `n/a <span class="status-bad" title="days without this source">(${r.days_missing} d missing)</span>` : "n/a";
        rows.push(`<tr><td>${esc(ch)}</td><td>${esc(r.stage)}</td><td class="num">${shown}</td>` +
                  `<td class="num">${pct(r.conversion)}</td><td class="num">${pct(r.drop_off)}</td></tr>`);
      }
    }
    draw("chart-funnel", {
      legend, series, grid: {left: 8, right: 40, top: 8, bottom: 52, containLabel: true},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, valueFormatter: num},
      xAxis: {type: "log", name: "count (log scale)", nameLocation: "middle", nameGap: 24},
      yAxis: {type: "category", data: drawn, inverse: true},
    });
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
    const series = [{type: "bar", name: "as of " + (asOf || "n/a"), data: s.map((r) => r.customers)}];
    if (before && before !== asOf) series.unshift({type: "bar", name: "as of " + before, data: s.map((r) => r.before)});
    draw("chart-segments", {
      legend, series, grid: {left: 8, right: 16, top: 12, bottom: 32, containLabel: true},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, valueFormatter: num},
      xAxis: {type: "category", data: s.map((r) => r.segment), axisLabel: {interval: 0, rotate: 40}},
      yAxis: {type: "value"},
    });
  }

  // A panel that cannot be drawn says why, instead of staying empty.
  function note(id, text) {
    const el = $(id), chart = echarts.getInstanceByDom(el);
    if (chart) chart.dispose();
    el.innerHTML = `<p class="muted chart-note">${esc(text)}</p>`;
  }

  function rfm(d) {
    const moves = d.rfm_moves, snaps = d.rfm_snapshots || {snapshots: 0};
    if (!moves.length) return note("chart-rfm", "No RFM snapshot up to " + d.range.end + ": there are no counted orders yet.");
    if (snaps.snapshots < 2 || moves.every((m) => m.from_as_of === m.to_as_of))
      return note("chart-rfm", `Only one monthly RFM snapshot (as of ${snaps.latest}) up to ${d.range.end}: movement needs two month ends of history.`);
    if ($("chart-rfm").querySelector(".chart-note")) $("chart-rfm").innerHTML = "";
    // a trailing space tells a segment before (left) from the same segment after (right); both
    // get the segment's color, labels face inwards, and the gap keeps tiny segments' labels apart
    const names = [...new Set(moves.flatMap((m) => [m.source + " ", m.target]))];
    const segs = [...new Set(names.map((n) => n.trim()))];
    draw("chart-rfm", {
      tooltip: {formatter: (p) => p.dataType === "edge"
        ? `${esc(p.data.source)} &rarr; ${esc(p.data.target)}: ${num(p.value)}` : `${esc(p.name)}: ${num(p.value)}`},
      series: [{type: "sankey", left: 8, right: 8, top: 8, bottom: 8, nodeWidth: 12, nodeGap: 12, draggable: false,
        emphasis: {focus: "adjacency"}, lineStyle: {color: "source", opacity: 0.3, curveness: 0.5}, label: {fontSize: 11},
        data: names.map((n) => ({name: n, itemStyle: {color: PALETTE[segs.indexOf(n.trim()) % PALETTE.length]},
                                 label: {position: n.endsWith(" ") ? "right" : "left"}})),
        links: moves.map((m) => ({source: m.source + " ", target: m.target, value: m.customers}))}],
    });
  }

  function cohorts(d) {
    const months = [...new Set(d.cohorts.map((r) => r.cohort_month))];
    const maxSince = Math.max(0, ...d.cohorts.map((r) => r.months_since));
    if (!months.length) return note("chart-cohorts", "No acquisition cohort up to " + d.range.end + ".");
    if (maxSince === 0)
      return note("chart-cohorts", `${months.length} cohort(s), none older than its first month: retention needs orders in later months.`);
    if ($("chart-cohorts").querySelector(".chart-note")) $("chart-cohorts").innerHTML = "";
    // the scale tops out at the best later month: month 0 (always 100%) would wash the rest out
    const top = Math.max(0.05, ...d.cohorts.filter((r) => r.months_since > 0).map((r) => r.retention));
    const size = new Map(d.cohorts.map((r) => [r.cohort_month, r.cohort_size]));
    draw("chart-cohorts", {
      grid: {left: 8, right: 72, top: 24, bottom: 32, containLabel: true},
      tooltip: {formatter: (p) => `cohort ${esc(months[p.value[1]])} (${num(size.get(months[p.value[1]]))} customers)<br>month ${p.value[0]}: ${pct(p.value[2])}`},
      xAxis: {type: "category", data: Array.from({length: maxSince + 1}, (_, k) => "M" + k), position: "top",
              name: "months since first order", nameLocation: "middle", nameGap: 22},
      // one row per cohort (month of first order), newest at the bottom, with its size
      yAxis: {type: "category", data: months.map((m) => `${m.slice(0, 7)} (${num(size.get(m))})`), inverse: true,
              name: "cohort", nameLocation: "end"},
      visualMap: {type: "continuous", min: 0, max: top, right: 0, top: "middle", itemHeight: 240,
                  text: ["\u2265 " + pct(top), "0%"], inRange: {color: ["#eef3fb", "#6baed6", "#08306b"]}},
      series: [{type: "heatmap", itemStyle: {borderColor: "#fff", borderWidth: 1},
        label: {show: months.length <= 14 && maxSince <= 13, fontSize: 10, formatter: (p) => (100 * p.value[2]).toFixed(0) + "%"},
        data: d.cohorts.filter((r) => r.retention != null).map((r) => [r.months_since, months.indexOf(r.cohort_month), r.retention])}],
    });
  }

  // Every table on the page exports as CSV: the cells as shown, one file per table.
  function csvCell(text) {
    const t = text.replace(/\s+/g, " ").trim();
    return /[",\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
  }

  function exportButtons(range) {
    document.querySelectorAll(".card table").forEach((t) => {
      if (!t.id || t.closest("table") !== t) return;
      const card = t.closest(".card"), h2 = card.querySelector("h2");
      let b = card.querySelector(`button.csv[data-table="${t.id}"]`);
      if (!b) {
        b = document.createElement("button");
        b.type = "button"; b.className = "csv"; b.dataset.table = t.id; b.textContent = "CSV";
        b.title = "Download this table as CSV";
        b.addEventListener("click", () => {
          const rows = [...$(b.dataset.table).rows].map((r) => [...r.cells].map((c) => csvCell(c.textContent)).join(","));
          const a = document.createElement("a");
          a.href = URL.createObjectURL(new Blob([rows.join("\r\n") + "\r\n"], {type: "text/csv"}));
          a.download = `${b.dataset.table}_${b.dataset.range}.csv`;
          a.click();
          setTimeout(() => URL.revokeObjectURL(a.href), 1000);
        });
        h2.appendChild(b);
      }
      b.dataset.range = range;
    });
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

  // The latest BG/NBD + Gamma-Gamma snapshot (customer_predictions) at or before the range's end.
  function predictions(d) {
    const p = d.predictions;
    if (!p) {
      $("predictions-note").textContent = "No predictions yet: materialize customer_predictions (monthly).";
      ["chart-clv", "chart-churn", "chart-holdout"].forEach((id) => { const c = echarts.getInstanceByDom($(id)); if (c) c.clear(); });
      return;
    }
    const f = p.fit;
    $("predictions-note").innerHTML = `As of ${esc(f.as_of)}: ${num(f.customers)} customers, ${num(f.repeat_buyers)} repeat buyers; ` +
      `CLV discounted at ${pct(f.annual_discount_rate)} a year` +
      (f.holdout_mae == null ? "" : `; holdout ${esc(f.calibration_end)} + ${f.holdout_weeks} weeks, mean absolute error ${Number(f.holdout_mae).toFixed(2)} purchases`) +
      (f.fit_ok ? "" : ` <span class="status-bad">Poor fit, not used for segments: ${esc(f.problems)}</span>`);
    const grid = {left: 8, right: 16, top: 12, bottom: 32, containLabel: true};
    const label = (r) => r.bin > 20 ? "≥ " + money(20 * r.width) : money((r.bin - 1) * r.width) + "–" + money(r.bin * r.width);
    draw("chart-clv", {grid, tooltip: {trigger: "axis", valueFormatter: num},
      xAxis: {type: "category", data: p.clv.map(label), axisLabel: {rotate: 40}},
      yAxis: {type: "value", name: "customers"},
      series: [{type: "bar", name: "customers", barCategoryGap: "5%", data: p.clv.map((r) => r.customers)}]});
    const colors = {low: "#91cc75", medium: "#fac858", high: "#ee6666"};
    draw("chart-churn", {grid, tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, valueFormatter: num},
      xAxis: {type: "category", data: p.bands.map((r) => r.churn_risk)}, yAxis: {type: "value", name: "customers"},
      series: [{type: "bar", name: "customers", label: {show: true, position: "top", formatter: (x) => num(x.value)},
        data: p.bands.map((r) => ({value: r.customers, itemStyle: {color: colors[r.churn_risk]}}))}]});
    const last = p.holdout.length ? p.holdout[p.holdout.length - 1].calibration_repeat_purchases : 0;
    draw("chart-holdout", {grid: Object.assign({}, grid, {bottom: 56}), legend,
      tooltip: {trigger: "axis", valueFormatter: (v) => v == null ? "n/a" : Number(v).toFixed(2)},
      xAxis: {type: "category", name: "repeat purchases in calibration", nameLocation: "middle", nameGap: 24,
              data: p.holdout.map((r) => r.calibration_repeat_purchases === last ? last + "+" : String(r.calibration_repeat_purchases))},
      yAxis: {type: "value", name: "holdout purchases"},
      series: [{type: "line", name: "actual", data: p.holdout.map((r) => r.actual_mean)},
               {type: "line", name: "predicted (BG/NBD)", lineStyle: {type: "dashed"}, data: p.holdout.map((r) => r.predicted_mean)}]});
  }

  // The brand switch: every brand, the current one marked, and the overview of all brands.
  function brandSwitch(d) {
    if (!d.brand) return;
    currency = d.brand.currency || "USD";
    document.title = `${d.brand.name} · Marketing dashboard`;
    $("brand-name").textContent = d.brand.name;
    $("brand-meta").textContent = `money in ${d.brand.currency}, days in ${d.brand.timezone}`;
    const keep = new URLSearchParams(location.search);
    const links = (d.brands || []).map((b) => {
      const q = new URLSearchParams();
      q.set("brand", b.id);
      if (keep.get("start") && keep.get("end")) { q.set("start", keep.get("start")); q.set("end", keep.get("end")); }
      const current = b.id === d.brand.id;
      return `<a href="/dashboard?${q}" data-brand="${esc(b.id)}"${current ? ' class="current" aria-current="page"' : ""}>${esc(b.name)}</a>`;
    });
    $("brand-switch").innerHTML = `<a href="/dashboard/brands" data-brand="">All brands</a>` + links.join("");
  }

  async function load(start, end, prefetched) {
    const qs = withBrand(start && end ? `start=${start}&end=${end}` : "");
    const res = await (prefetched || fetch("/dashboard/api/data" + qs));
    const d = await res.json();
    brandSwitch(d);
    if (!res.ok) { $("warnings").innerHTML = `<div class="warn">${esc(d.error)}</div>`; return; }
    if (d.no_data) {
      $("warnings").innerHTML = `<div class="warn">No data yet for <b>${esc(d.brand.name)}</b>: ${esc(d.no_data)}.</div>`;
      $("kpis").innerHTML = "";
      document.body.dataset.loaded = "no data";
      return;
    }
    $("start").value = d.range.start; $("end").value = d.range.end;
    $("period").textContent = `${d.range.start} to ${d.range.end}, compared with ${d.range.previous_start} to ${d.range.previous_end}`;
    $("as-of").textContent = "Data as of " + d.data_as_of.map((a) =>
      `${a.source} ${a.time ? (a.day ? a.day + " " : "") + a.time : "—"}`).join(" · ");
    kpis(d); revenue(d); funnel(d); overview(d); segments(d); rfm(d); cohorts(d); carts(d); freshness(d); predictions(d);
    table("email-campaigns", [{label: "Platform", key: "platform"}, {label: "Type", key: "kind"}, {label: "Name", key: "name"},
      {label: "Orders", key: "orders", num: true, fmt: num}, {label: "Revenue", key: "revenue", num: true, fmt: money}], d.email_campaigns);
    table("campaigns", [{label: "Channel", key: "channel"}, {label: "Campaign", key: "campaign"},
      {label: "Orders", key: "orders", num: true, fmt: num}, {label: "Revenue", key: "revenue", num: true, fmt: money}], d.campaigns);
    exportButtons(d.range.start + "_" + d.range.end);
    // ms from navigation start to the first complete page, read by the browser test
    if (window.dashboardRendered == null) window.dashboardRendered = performance.now();
    document.body.dataset.loaded = d.range.start + ".." + d.range.end;
    if (start || end) history.replaceState(null, "", withBrand(`start=${d.range.start}&end=${d.range.end}`));
  }

  let resizing = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(() => CHARTS.forEach((id) => {
      const chart = echarts.getInstanceByDom($(id));
      if (chart) chart.resize();
    }));
  });
  $("range").addEventListener("submit", (e) => { e.preventDefault(); load($("start").value, $("end").value); });
  document.querySelectorAll(".presets button").forEach((b) => b.addEventListener("click", () => {
    const end = $("end").value ? new Date($("end").value) : new Date();
    const start = new Date(end.getTime() - (Number(b.dataset.days) - 1) * 86400000);
    load(start.toISOString().slice(0, 10), end.toISOString().slice(0, 10));
  }));
  const q = new URLSearchParams(location.search);
  load(q.get("start"), q.get("end"), window.dashboardFirstLoad);
})();
