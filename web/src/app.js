// The HTML report's page: draws the data `gorepro export --format html` embedded in
// <script id="gorepro-data"> with uPlot (chart), d3-flame-graph and d3-selection, all inlined
// before this file. No network: everything the page shows is in the file.
// window.gorepro exposes the drawn objects (the test in tests/export reads them).
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('gorepro-data').textContent);
  const report = data.report;
  const trace = report.trace;

  // ---- helpers
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  function duration(ns) {
    if (ns < 1e3) return ns + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(1) + ' µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(1) + ' ms';
    if (ns < 60e9) return (ns / 1e9).toFixed(2) + ' s';
    return (ns / 60e9).toFixed(1) + ' min';
  }
  function base(file) { return file ? file.slice(file.lastIndexOf('/') + 1) : ''; }
  function site(f) { return f && f.file ? base(f.file) + ':' + f.line + ' (' + f.function + ')' : (f && f.function) || '?'; }
  function what(g) { return g.state === 'waiting' ? g.wait_reason || 'waiting' : g.state; }
  const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7',
                   '#9c755f', '#bab0ac', '#86bcb6', '#d37295', '#8cd17d'];
  const stateColors = { running: '#59a14f', runnable: '#edc948', syscall: '#b07aa1', exited: '#ddd', unknown: '#bab0ac' };
  function stateColor(label) { return label.startsWith('waiting') ? '#e15759' : stateColors[label] || '#bab0ac'; }

  const app = el('main', { id: 'app' });
  document.body.append(app);
  const alive = report.groups.reduce((n, g) => n + g.alive, 0);

  // ---- header
  app.append(el('header', {},
    el('h1', {}, 'gorepro report: ', base(trace.binary) || 'trace'),
    el('p', { class: 'summary' },
      `${alive} goroutine${alive === 1 ? '' : 's'} alive in ${report.groups.length} group${report.groups.length === 1 ? '' : 's'}` +
      ` · Go ${trace.go_version} · ${trace.backend} backend · ${trace.events} events over ${duration(trace.duration_ns)}` +
      (trace.at_events < trace.events ? ` · as of event ${Math.max(trace.at_events - 1, 0)} (${duration(trace.at_ns)})` : '') +
      (report.hidden.runtime ? ` · ${report.hidden.runtime} runtime goroutines hidden` : '') +
      (report.lost.events ? ` · ${report.lost.events} events lost by the recorder` : '') +
      (trace.symbolized ? '' : ' · no symbols (the binary was missing or rebuilt): names are raw PCs'))));

  // ---- leak groups
  const groupsSection = el('section', { id: 'groups' }, el('h2', {}, 'Leak groups'),
    el('p', { class: 'hint' }, 'Goroutines alive at the report instant, grouped by go statement, start function and what they block on. Click a group for its stacks and goroutine timelines.'));
  const table = el('table', { class: 'groups' });
  table.append(el('thead', {}, el('tr', {}, ...['alive', 'created', 'go statement', 'start function', 'state', 'blocked at', 'blocked for (median / max)'].map((h) => el('th', {}, h)))));
  const tbody = el('tbody');
  const details = el('div', { id: 'details', class: 'details' }, el('p', { class: 'hint' }, 'Select a group above.'));
  report.groups.forEach((g, i) => {
    const row = el('tr', { class: 'group', 'data-group': i, tabindex: 0, onclick: () => select(i), onkeydown: (e) => { if (e.key === 'Enter') select(i); } },
      el('td', { class: 'num' }, g.alive), el('td', { class: 'num' }, g.created), el('td', {}, site(g.creation_site)),
      el('td', {}, g.start_function), el('td', {}, what(g)), el('td', {}, g.block_site ? site(g.block_site) : ''),
      el('td', { class: 'num' }, g.state === 'waiting' ? duration(g.blocked_ns.median) + ' / ' + duration(g.blocked_ns.max) : ''));
    tbody.append(row);
  });
  if (!report.groups.length) tbody.append(el('tr', {}, el('td', { colspan: 7 }, 'No goroutine of the program is alive here.')));
  table.append(tbody);
  groupsSection.append(table, details);
  app.append(groupsSection);

  function stackList(title, frames) {
    if (!frames || !frames.length) return el('div', { class: 'stack' }, el('h4', {}, title), el('p', { class: 'hint' }, 'not recorded'));
    return el('div', { class: 'stack' }, el('h4', {}, title),
      el('ol', {}, ...frames.map((f) => el('li', {}, el('code', {}, f.function), ' ', el('span', { class: 'where' }, f.file ? f.file + ':' + f.line : '')))));
  }
  function timeline(goid) {
    const t = data.timelines[goid];
    const row = el('div', { class: 'timeline' }, el('span', { class: 'goid' }, 'g' + goid));
    const bar = el('div', { class: 'bar' });
    row.append(bar);
    if (!t) { bar.append(el('span', { class: 'hint' }, 'no state change recorded')); return row; }
    const end = trace.at_ns / 1e9 || 1;
    t.changes.forEach(([at, label], i) => {
      const next = i + 1 < t.changes.length ? t.changes[i + 1][0] : end;
      const seg = el('div', { class: 'seg', title: `${label} from ${at.toFixed(6)} s to ${next.toFixed(6)} s` });
      seg.style.left = (100 * at / end) + '%';
      seg.style.width = Math.max(0.15, 100 * (next - at) / end) + '%';
      seg.style.background = stateColor(label);
      bar.append(seg);
    });
    const last = t.changes[t.changes.length - 1];
    row.append(el('span', { class: 'now' }, last ? last[1] : ''));
    if (t.dropped) row.append(el('span', { class: 'hint' }, ` (${t.dropped} earlier changes left out)`));
    return row;
  }
  function select(i) {
    const g = report.groups[i];
    for (const r of tbody.querySelectorAll('tr.group')) r.classList.toggle('selected', r.dataset.group === String(i));
    details.replaceChildren(
      el('h3', {}, `${g.alive} × ${g.start_function} — ${what(g)}`),
      el('p', {}, `created at ${site(g.creation_site)}: ${g.created} created, ${g.alive} alive` +
        (g.preexisting ? `, ${g.preexisting} before the recording began` : '') +
        (g.incomplete ? `, ${g.incomplete} with lost events` : '') +
        `; goroutines ${g.goids.map((id) => 'g' + id).join(', ')}${g.goids.length < g.alive ? ', …' : ''}`),
      ...[
        // The leak verdict of record's heap scan at exit, and the goroutines' pprof labels, as in `report`.
        g.verdict ? el('p', { class: 'verdict' }, `verdict: ${g.verdict}` + (g.verdict_evidence ? ` — ${g.verdict_evidence}` : '')) : null,
        // The history's signal (docs/verdicts.md), with or without verdicts.
        g.never_woken ? el('p', { class: 'verdict' }, `growing and never woken (${g.never_woken} of ${g.alive}) — ${g.never_woken_evidence}`) : null,
        g.labels && g.labels.length ? el('p', { class: 'labels' }, 'pprof labels: ' + g.labels.map((s) =>
          Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(', ') + ` (${s.count})`).join('; ')) : null,
      ].filter(Boolean),
      el('div', { class: 'stacks' }, stackList('block stack (leaf first)', g.block_stack), stackList('creation stack (leaf first)', g.creation_stack)),
      el('h4', {}, 'Goroutine timelines'),
      el('div', { class: 'legend' }, ...['running', 'runnable', 'waiting', 'syscall'].map((s) => el('span', {}, el('i', { style: 'background:' + stateColor(s) }), s))),
      ...g.goids.filter((id) => data.timelines[id]).map(timeline));
  }

  // ---- chart: live goroutines over time, stacked by go statement
  const chartSection = el('section', { id: 'chart-section' }, el('h2', {}, 'Live goroutines over time, by go statement'));
  const chartBox = el('div', { id: 'chart' });
  const growthList = el('ul', { class: 'growth' });
  chartSection.append(chartBox, growthList);
  app.append(chartSection);
  const series = data.chart.series;
  const xs = data.chart.t;
  const accum = new Array(xs.length).fill(0);
  const stacked = series.map((s) => s.v.map((v, i) => (accum[i] += v)));
  const uData = [xs, ...stacked];
  const uSeries = [{ label: 'seconds' }];
  const bands = [];
  series.forEach((s, i) => {
    const color = palette[i % palette.length];
    uSeries.push({ label: s.label, stroke: color, fill: color + '99', width: 1,
      value: (u, v, si, idx) => (idx == null ? '' : series[si - 1].v[idx]) });
    if (i > 0) bands.push({ series: [i + 1, i] });
  });
  if (data.gcount) {
    // The runtime's own count (every goroutine, the runtime's too) at its samples, on the same x.
    const at = new Map(data.gcount.t.map((t, i) => [t, data.gcount.v[i]]));
    uData.push(xs.map((t) => (at.has(t) ? at.get(t) : null)));
    uSeries.push({ label: 'schedtrace gcount (all goroutines)', stroke: '#222', width: 2, dash: [6, 4], spanGaps: true,
      points: { show: true, size: 4 } });
  }
  const growth = data.growth;
  growth.forEach((w) => growthList.append(el('li', {},
    `growth ${w.start_s.toFixed(3)}–${w.end_s.toFixed(3)} s: ${w.count_start} → ${w.count_end} live (+${w.slope_per_s}/s, r² ${w.r2})` +
    (w.sites.length ? ' — ' + w.sites.slice(0, 5).map((s) => `${s.label} +${s.net}`).join(', ') : ''))));
  if (!growth.length) growthList.append(el('li', { class: 'hint' }, 'no growth window: the live count never rose steadily (≥ 5/s over ≥ 0.5 s)'));
  const shade = (u) => {
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(225, 87, 89, 0.12)';
    for (const w of growth) {
      const x0 = u.valToPos(w.start_s, 'x', true), x1 = u.valToPos(w.end_s, 'x', true);
      ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, 2), u.bbox.height);
    }
    ctx.restore();
  };
  const width = () => Math.max(600, Math.min(app.clientWidth, 1400));
  const chart = new uPlot({
    width: width(), height: 320,
    scales: { x: { time: false } },
    axes: [{ label: 'seconds since the trace began' }, { label: 'live goroutines' }],
    series: uSeries, bands,
    hooks: { drawClear: [shade] },
  }, uData, chartBox);

  // ---- flame graph of the live goroutines' stacks
  const flameSection = el('section', { id: 'flame-section' }, el('h2', {}, 'Flame graph of the live goroutines'));
  const toggle = el('div', { class: 'toggle' });
  const flameBox = el('div', { id: 'flame' });
  const flameDetails = el('p', { class: 'hint', id: 'flame-details' });
  let flame = null;
  function drawFlame(kind) {
    for (const b of toggle.querySelectorAll('button')) b.classList.toggle('on', b.dataset.kind === kind);
    if (flame) flame.destroy();
    flameBox.replaceChildren();
    flame = flamegraph().width(Math.max(300, flameBox.clientWidth - 2)).cellHeight(18).minFrameSize(2).transitionDuration(0).sort(true)
      .title('').setDetailsElement(flameDetails)
      .label((d) => `${d.data.n}: ${d.value} goroutine${d.value === 1 ? '' : 's'}`);
    d3.select(flameBox).datum(data.flame[kind]).call(flame);
    window.gorepro.flame = flame;
    window.gorepro.flameKind = kind;
  }
  for (const [kind, label] of [['block', 'block stacks (where they wait)'], ['creation', 'creation stacks (who started them)']])
    toggle.append(el('button', { 'data-kind': kind, onclick: () => drawFlame(kind) }, label));
  flameSection.append(el('p', { class: 'hint' }, 'Root first; width = goroutines. Click a frame to zoom, the root to reset.'), toggle, flameBox, flameDetails);
  app.append(flameSection);

  window.gorepro = { data, chart, select, flameRoot: () => d3.select(flameBox).datum() };
  drawFlame('block');
  window.addEventListener('resize', () => chart.setSize({ width: width(), height: 320 }));
})();
