// Opens an HTML report of `gorepro export --format html` in headless Chromium (playwright-core,
// pinned in web/package-lock.json, driving Debian's chromium) and prints, as one JSON object on
// stdout, what the page shows — html_e2e_test.cpp holds it against `gorepro report --json`:
//   errors     console errors and uncaught exceptions (a CSP violation is one)
//   requests   every request the page made other than loading the file itself
//   series     the chart's series: label, site, count at the last point (read from the drawn
//              uPlot instance, its stacked data un-stacked) and the number of points
//   flame      the flame graph's root value and how many frames (SVG <g> nodes) it drew, for
//              the block stacks and after the toggle for the creation stacks
//   clicked    after clicking the first group's row: the details panel's frames and timelines
// Usage: node html_check.cjs WEB_DIR CHROMIUM REPORT.html SCREENSHOT.png
'use strict';
const path = require('path');
const [webDir, chromiumPath, reportPath, screenshot] = process.argv.slice(2);
const { chromium } = require(path.join(webDir, 'node_modules', 'playwright-core'));

(async () => {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [], requests = [];
  const url = 'file://' + path.resolve(reportPath);
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  await page.goto(url, { waitUntil: 'load' });
  // Generous: the machine running it may be loaded (CI shares its cores with builds).
  await page.waitForFunction(() => window.gorepro && window.gorepro.flame, null, { timeout: 90000 });

  const series = await page.evaluate(() => {
    const u = window.gorepro.chart, d = window.gorepro.data;
    const n = d.chart.series.length, last = u.data[0].length - 1;
    return d.chart.series.map((s, i) => ({
      label: u.series[i + 1].label,
      site: s.site,
      final: u.data[i + 1][last] - (i ? u.data[i][last] : 0),
      points: u.data[i + 1].length,
    })).concat(u.series.length - 1 > n ? [{ label: u.series[n + 1].label, gcount: true }] : []);
  });
  const flameOf = () => page.evaluate(() => ({
    kind: window.gorepro.flameKind,
    root: window.gorepro.flameRoot().value,
    nodes: document.querySelectorAll('#flame svg g').length,
  }));
  const block = await flameOf();
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.click('#flame-section button[data-kind="creation"]');
  const creation = await flameOf();
  await page.click('#flame-section button[data-kind="block"]');

  let clicked = null;
  if (await page.locator('tr.group').count()) {
    await page.locator('tr.group').first().click();
    clicked = await page.evaluate(() => ({
      title: document.querySelector('#details h3').textContent,
      frames: [...document.querySelectorAll('#details .stack li code')].map((c) => c.textContent),
      timelines: document.querySelectorAll('#details .timeline').length,
      segments: document.querySelectorAll('#details .timeline .seg').length,
    }));
  }
  const growth = await page.evaluate(() => window.gorepro.data.growth.length);
  await browser.close();
  process.stdout.write(JSON.stringify({ errors, requests, series, flame: { block, creation }, clicked, growth }) + '\n');
})().catch((e) => { process.stderr.write('html_check: ' + (e.stack || e) + '\n'); process.exit(1); });
