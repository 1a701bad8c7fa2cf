// smartfactory dashboard: draws every ECharts chart whose option the server rendered as JSON.
// No inline scripts (the Content-Security-Policy forbids them): an element
// <div class="chart" data-chart="ID"> takes its option from <script type="application/json" id="ID">.
// Live pages reload parts by HTMX; a chart marked hx-preserve keeps its instance and gets the new option.
(function () {
  "use strict";
  const charts = new Map();

  // Code cannot travel in the JSON (the CSP forbids eval), so a series names its renderer.
  const renderers = {
    // a Gantt bar: value = [row index, start, end]; a rectangle filling most of the row's band
    gantt: function (params, api) {
      const from = api.coord([api.value(1), api.value(0)]);
      const to = api.coord([api.value(2), api.value(0)]);
      const height = api.size([0, 1])[1] * 0.7;
      const box = params.coordSys;
      const shape = echarts.graphic.clipRectByRect(
        { x: from[0], y: from[1] - height / 2, width: Math.max(to[0] - from[0], 1), height: height },
        { x: box.x, y: box.y, width: box.width, height: box.height }
      );
      return shape && { type: "rect", transition: ["shape"], shape: shape, style: api.style() };
    },
  };

  function resolve(option) {
    [].concat(option.series || []).forEach(function (series) {
      if (typeof series.renderItem === "string") series.renderItem = renderers[series.renderItem];
    });
    return option;
  }

  function draw(root) {
    if (typeof echarts === "undefined") return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      const source = document.getElementById(el.dataset.chart);
      if (!source) return;
      const text = source.textContent;
      let option;
      try { option = JSON.parse(text); } catch (e) { return; }
      const old = echarts.getInstanceByDom(el);
      if (old && !old.isDisposed() && el.hasAttribute("hx-preserve")) {
        // a live reload kept this chart's element (hx-preserve): give the drawn chart its new
        // option instead of drawing it again, so nothing flickers; the reader's zoom stays
        if (el._optionText !== text) {
          delete option.dataZoom;
          old.setOption(resolve(option), { replaceMerge: ["series"] });
          el._optionText = text;
        }
        return;
      }
      if (old) old.dispose();
      const chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(resolve(option));
      el._optionText = text;
      charts.set(el, chart);
      if (el.dataset.chartGroup) {
        // charts of one group (an equipment's signals and states) zoom together
        chart.group = el.dataset.chartGroup;
        echarts.connect(el.dataset.chartGroup);
      }
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
    url.searchParams.set("start", wallClock(extent[0]));
    url.searchParams.set("end", wallClock(extent[1]));
    url.searchParams.set("points", String(Math.min(5000, Math.max(100, Math.floor(el.clientWidth)))));
    // only the newest request's answer is drawn, however the answers arrive
    const asked = (el._zoomAsked || 0) + 1;
    el._zoomAsked = asked;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.series && el._zoomAsked === asked && !chart.isDisposed()) {
          chart.setOption(resolve({ series: data.series }));
        }
      })
      .catch(function () { /* keep what is drawn */ });
  }

  // Chart times are the plant's wall clock written as UTC (web/charts.py, useUTC); a zoom sends
  // that wall clock back as ISO text without an offset, which the API reads as plant time.
  function wallClock(ms) {
    const d = new Date(ms);
    const pad = function (n, width) { return String(n).padStart(width || 2, "0"); };
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + "T" +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + "." +
      pad(d.getUTCMilliseconds(), 3);
  }

  function debounce(fn, ms) {
    let t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  // Charts whose element left the page (a swap that no longer has them) are let go.
  function forget() {
    charts.forEach(function (chart, el) {
      if (!el.isConnected) { chart.dispose(); charts.delete(el); }
    });
  }

  // Live pages: an element marked data-live-poll (the freshness indicator) polls the server; it
  // asks nothing while the tab is hidden and asks at once when the tab is shown again. An open
  // "As a table" stays open when the part holding it is reloaded.
  const opened = {};  // the id of a reloading part → the ids of its open <details>
  document.addEventListener("htmx:beforeRequest", function (evt) {
    const elt = evt.detail && evt.detail.elt;
    if (document.visibilityState === "hidden" && elt && elt.hasAttribute && elt.hasAttribute("data-live-poll")) {
      evt.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible" || typeof htmx === "undefined") return;
    document.querySelectorAll("[data-live-poll]").forEach(function (el) { htmx.trigger(el, "sf-refresh"); });
  });
  document.addEventListener("htmx:beforeSwap", function (evt) {
    const target = evt.detail && evt.detail.target;
    if (!target || !target.id) return;
    opened[target.id] = [].map.call(target.querySelectorAll("details[id][open]"), function (d) { return d.id; });
  });

  window.addEventListener("resize", debounce(function () { charts.forEach(function (c) { c.resize(); }); }, 150));
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (evt) {
    const part = evt.target && evt.target.id;
    (opened[part] || []).forEach(function (id) {
      const details = document.getElementById(id);
      if (details) details.open = true;
    });
    delete opened[part];
    draw(evt.target);
    forget();
  });
  window.smartfactory = { draw: draw };
})();
