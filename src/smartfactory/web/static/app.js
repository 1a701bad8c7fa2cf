// smartfactory dashboard: draws every ECharts chart whose option the server rendered as JSON.
// No inline scripts (the Content-Security-Policy forbids them): an element
// <div class="chart" data-chart="ID"> takes its option from <script type="application/json" id="ID">.
(function () {
  "use strict";
  const charts = new Map();

  function draw(root) {
    if (typeof echarts === "undefined") return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      const source = document.getElementById(el.dataset.chart);
      if (!source) return;
      let option;
      try { option = JSON.parse(source.textContent); } catch (e) { return; }
      const old = echarts.getInstanceByDom(el);
      if (old) old.dispose();
      const chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      charts.set(el, chart);
      if (el.dataset.zoomUrl) {
        // a zoom asks the server for that period again, downsampled to the chart's width
        chart.on("datazoom", debounce(function () { zoomed(el, chart); }, 350));
      }
      el.dataset.drawn = "1";
    });
  }

  function zoomed(el, chart) {
    const axis = chart.getModel().getComponent("xAxis", 0).axis;
    const extent = axis.scale.getExtent();
    const url = new URL(el.dataset.zoomUrl, window.location.origin);
    url.searchParams.set("start", new Date(extent[0]).toISOString());
    url.searchParams.set("end", new Date(extent[1]).toISOString());
    url.searchParams.set("points", String(Math.max(100, Math.floor(el.clientWidth))));
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && data.series) chart.setOption({ series: data.series }); });
  }

  function debounce(fn, ms) {
    let t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  window.addEventListener("resize", debounce(function () { charts.forEach(function (c) { c.resize(); }); }, 150));
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { draw(evt.target); });
  window.smartfactory = { draw: draw };
})();
