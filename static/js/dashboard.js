/*
 * ServiceDesk dashboard charts (Chart.js 4 + chartjs-plugin-annotation 3, both vendored).
 *
 * Every number is computed on the server (measurement/selectors.py, from measurement/stats.py) and
 * handed over in a <script type="application/json"> tag written by Django's json_script. A chart is
 * a <canvas data-chart="p|xmr|funnel" data-source="ID of that tag">. This file only draws: it
 * computes no limit and no rate. Without JavaScript the tables next to each chart show the same
 * numbers.
 */
(function () {
  "use strict";

  if (typeof window.Chart === "undefined") {
    return;
  }

  var COLOURS = {
    series: "#0d6efd",
    flag: "#dc3545",
    limit: "#6c757d",
    centre: "#212529",
    target: "#198754",
    other: "#adb5bd",
    band95: "#fd7e14",
    band998: "#6f42c1",
  };

  function readData(id) {
    var element = document.getElementById(id);
    if (!element) {
      return null;
    }
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  function percent(value) {
    return value === null || value === undefined ? null : value * 100;
  }

  function formatPercent(value) {
    return value === null || value === undefined ? "—" : Math.round(value) + "%";
  }

  function formatSigned(value) {
    if (value === null || value === undefined) {
      return "—";
    }
    var whole = Math.round(value);
    return whole > 0 ? "+" + whole : String(whole);
  }

  function ruleText(data, index) {
    var rules = (data.flags[index] || []).map(function (rule) {
      return data.rules[String(rule)] || "rule " + rule;
    });
    return rules.length ? "Signal: " + rules.join("; ") : "";
  }

  function hiddenFromLegend(item, chartData) {
    return !chartData.datasets[item.datasetIndex].hideInLegend;
  }

  function horizontalLine(value, colour, text, dashed) {
    return {
      type: "line",
      yMin: value,
      yMax: value,
      borderColor: colour,
      borderWidth: dashed ? 1.5 : 1,
      borderDash: dashed ? [6, 4] : [],
      label: {
        display: Boolean(text),
        content: text,
        position: "start",
        backgroundColor: "rgba(255, 255, 255, 0.85)",
        color: colour,
        font: { size: 11 },
      },
    };
  }

  function pointStyling(data) {
    var flagged = data.flags.map(function (rules) {
      return rules.length > 0;
    });
    return {
      pointBackgroundColor: flagged.map(function (f) { return f ? COLOURS.flag : COLOURS.series; }),
      pointBorderColor: flagged.map(function (f) { return f ? COLOURS.flag : COLOURS.series; }),
      pointStyle: flagged.map(function (f) { return f ? "triangle" : "circle"; }),
      pointRadius: flagged.map(function (f) { return f ? 7 : 3; }),
    };
  }

  function baseOptions(yTicks, tooltipLabel, annotations, legendFilter) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "nearest", intersect: true },
      scales: { y: { ticks: { callback: yTicks } } },
      plugins: {
        legend: { labels: { boxWidth: 12, filter: legendFilter || hiddenFromLegend } },
        tooltip: { callbacks: { label: tooltipLabel } },
        annotation: { annotations: annotations },
      },
    };
  }

  /* Pass rate per period with per-period 3-sigma limits (stats.p_chart). */
  function drawPChart(canvas, data) {
    var annotations = {
      centre: horizontalLine(percent(data.centre), COLOURS.centre, "Centre " + formatPercent(percent(data.centre)), false),
    };
    if (data.target !== null && data.target !== undefined) {
      annotations.target = horizontalLine(
        percent(data.target), COLOURS.target, "Target " + formatPercent(percent(data.target)), true
      );
    }
    var series = Object.assign(
      {
        label: "Pass rate",
        data: data.rates.map(percent),
        borderColor: COLOURS.series,
        backgroundColor: COLOURS.series,
        borderWidth: 2,
        tension: 0,
      },
      pointStyling(data)
    );
    var limit = function (label, values, hide) {
      return {
        label: label,
        data: values.map(percent),
        stepped: "middle",
        borderColor: COLOURS.limit,
        borderDash: [4, 4],
        borderWidth: 1,
        pointRadius: 0,
        pointHitRadius: 0,
        fill: false,
        hideInLegend: hide,
      };
    };
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [series, limit("3σ limits", data.ucl, false), limit("Lower 3σ limit", data.lcl, true)],
      },
      options: baseOptions(
        function (value) { return value + "%"; },
        function (context) {
          var i = context.dataIndex;
          if (context.datasetIndex !== 0) {
            return context.dataset.label + ": " + formatPercent(context.parsed.y);
          }
          var text = "Pass rate " + formatPercent(context.parsed.y) + " (n = " + data.n[i] + ")";
          var signal = ruleText(data, i);
          return signal ? [text, signal] : text;
        },
        annotations
      ),
    });
  }

  /* Individuals chart with constant limits (stats.xmr_limits): CSAT in percent, NPS as a score. */
  function drawXmrChart(canvas, data) {
    var isPercent = data.unit === "percent";
    var format = isPercent ? formatPercent : formatSigned;
    var annotations = {
      centre: horizontalLine(data.centre, COLOURS.centre, "Centre " + format(data.centre), false),
      ucl: horizontalLine(data.ucl, COLOURS.limit, "UCL " + format(data.ucl), true),
      lcl: horizontalLine(data.lcl, COLOURS.limit, "LCL " + format(data.lcl), true),
    };
    var series = Object.assign(
      {
        label: isPercent ? "CSAT" : "NPS",
        data: data.values,
        borderColor: COLOURS.series,
        backgroundColor: COLOURS.series,
        borderWidth: 2,
        tension: 0,
      },
      pointStyling(data)
    );
    var options = baseOptions(
      function (value) { return isPercent ? value + "%" : value; },
      function (context) {
        var i = context.dataIndex;
        var text = series.label + " " + format(context.parsed.y) + " (n = " + data.n[i] + ")";
        var signal = ruleText(data, i);
        return signal ? [text, signal] : text;
      },
      annotations
    );
    // Keep the limits in view even when every point lies well inside them.
    options.scales.y.suggestedMin = data.lcl;
    options.scales.y.suggestedMax = data.ucl;
    options.plugins.legend.display = false;
    new window.Chart(canvas, { type: "line", data: { labels: data.labels, datasets: [series] }, options: options });
  }

  /* Locations' pass rate against n, inside 95% and 99.8% limits (stats.funnel_limits). Points are
   * numbered in the order of the table of points below the chart; focusing a point's number there
   * (keyboard or pointer) shows that point's tooltip on the chart. */
  function drawFunnel(canvas, data) {
    var toPoint = function (point, index) {
      return { x: point.n, y: percent(point.rate), label: point.label, number: index + 1 };
    };
    var all = data.points.map(toPoint);
    var mine = all.filter(function (point, index) { return data.points[index].mine; });
    var others = all.filter(function (point, index) { return !data.points[index].mine; });
    var curve = function (label, key, colour, dashed, hide) {
      return {
        type: "line",
        label: label,
        data: data.limits.n.map(function (n, i) { return { x: n, y: percent(data.limits[key][i]) }; }),
        borderColor: colour,
        borderDash: dashed ? [6, 4] : [],
        borderWidth: 1.5,
        pointRadius: 0,
        pointHitRadius: 0,
        fill: false,
        tension: 0,
        hideInLegend: hide,
      };
    };
    // Hollow where the location has too little evidence to be judged (data.min_evidence).
    var fill = function (points, colour) {
      return points.map(function (point) { return point.x < data.min_evidence ? "#ffffff" : colour; });
    };
    var datasets = [
      {
        type: "scatter",
        label: others.length ? "Your locations" : "Locations",
        data: mine,
        backgroundColor: fill(mine, COLOURS.series),
        borderColor: COLOURS.series,
        borderWidth: 2,
        pointRadius: 5,
        pointHoverRadius: 8,
      },
    ];
    if (others.length) {
      datasets.push({
        type: "scatter",
        label: "Other locations",
        data: others,
        backgroundColor: fill(others, COLOURS.other),
        borderColor: COLOURS.other,
        borderWidth: 2,
        pointRadius: 4,
        pointHoverRadius: 7,
      });
    }
    datasets.push(
      curve("95% limits", "high95", COLOURS.band95, true, false),
      curve("Lower 95% limit", "low95", COLOURS.band95, true, true),
      curve("99.8% limits", "high998", COLOURS.band998, false, false),
      curve("Lower 99.8% limit", "low998", COLOURS.band998, false, true)
    );
    var oneDecimal = function (value) {
      return value === null || value === undefined ? "—" : value.toFixed(1) + "%";
    };
    var options = baseOptions(
      function (value) { return value + "%"; },
      function (context) {
        var raw = context.raw || {};
        if (!raw.label) {
          return context.dataset.label + ": " + oneDecimal(context.parsed.y) + " at n = " + context.parsed.x;
        }
        return "Point " + raw.number + ", " + raw.label + ": " + oneDecimal(context.parsed.y) +
          " (n = " + context.parsed.x.toLocaleString("en-GB") + ")";
      },
      {
        centre: horizontalLine(
          percent(data.centre), COLOURS.centre, "Organisation " + formatPercent(percent(data.centre)), false
        ),
      }
    );
    // The axis fits the data (computed on the server: from 0, or just below the smallest n).
    options.scales.x = {
      type: "linear",
      min: data.x_min,
      max: data.x_max,
      title: { display: true, text: "Observations (n)" },
    };
    options.scales.y.title = { display: true, text: "Pass rate" };
    options.scales.y.suggestedMax = 100;
    var chart = new window.Chart(canvas, { type: "scatter", data: { datasets: datasets }, options: options });

    // Where point `number` (1-based) sits in the chart's datasets.
    var elementFor = function (number) {
      var index = mine.findIndex(function (point) { return point.number === number; });
      if (index >= 0) {
        return { datasetIndex: 0, index: index };
      }
      return { datasetIndex: 1, index: others.findIndex(function (point) { return point.number === number; }) };
    };
    var show = function (number) {
      var active = [elementFor(number)];
      var element = chart.getDatasetMeta(active[0].datasetIndex).data[active[0].index];
      chart.setActiveElements(active);
      chart.tooltip.setActiveElements(active, { x: element.x, y: element.y });
      chart.update();
    };
    var hide = function () {
      chart.setActiveElements([]);
      chart.tooltip.setActiveElements([], { x: 0, y: 0 });
      chart.update();
    };
    document.querySelectorAll("[data-funnel-point]").forEach(function (button) {
      var number = Number(button.dataset.funnelPoint) + 1;
      var on = function () { show(number); };
      button.addEventListener("focus", on);
      button.addEventListener("mouseenter", on);
      button.addEventListener("click", on);
      button.addEventListener("blur", hide);
      button.addEventListener("mouseleave", hide);
    });
  }

  var DRAW = { p: drawPChart, xmr: drawXmrChart, funnel: drawFunnel };

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var draw = DRAW[canvas.dataset.chart];
    var data = readData(canvas.dataset.source);
    if (draw && data) {
      draw(canvas, data);
    }
  });
})();
