// The monitoring page: fetches the dashboard's JSON endpoints and draws them with Chart.js
// (loaded before this module from /vendor, so the page needs no network beyond the runner).
const { Chart } = globalThis;

const REFRESH_MS = 10_000;
const PALETTE = ['#2563eb', '#16a34a', '#ea580c', '#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4b5563'];
const DRIFTED = '#dc2626';
const THRESHOLD = '#6b7280';
const charts = new Map();

Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.animation = false;

const colorOf = (index) => PALETTE[index % PALETTE.length];

async function getJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

/** Builds an element; children may be strings (set as text, never parsed as HTML). */
function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children.flat()) element.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return element;
}

function fillTable(id, headers, rows) {
  const table = document.getElementById(id);
  table.replaceChildren(
    el('thead', {}, el('tr', {}, ...headers.map((header) => el('th', {}, header)))),
    el('tbody', {}, ...rows.map((row) => el('tr', row.attributes ?? {}, ...row.cells.map((cell) => el('td', {}, cell))))),
  );
}

const TIME_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400].map((seconds) => seconds * 1000);

function timeLabel(ms, spanMs) {
  const date = new Date(ms);
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: spanMs < 3_600_000 ? '2-digit' : undefined, hour12: false });
  return spanMs > 86_400_000 ? `${date.toLocaleDateString()} ${time}` : time;
}

/**
 * A linear x axis of epoch milliseconds with ticks on round times, at most about `maxTicks` of them.
 * A single time gets its own ticks, `stepMs` (its bucket) apart around it: left alone, Chart.js widens
 * a zero-width range by 5% of the value, which for epoch milliseconds is years of unrelated labels.
 */
function timeAxis(points, { maxTicks = 8, stepMs = 60_000 } = {}) {
  const times = points.map((point) => point.x);
  const first = Math.min(...times);
  const span = times.length ? Math.max(...times) - first : 0;
  if (times.length && span === 0) {
    const around = [-2, -1, 0, 1, 2].map((offset) => ({ value: first + offset * stepMs }));
    return {
      type: 'linear',
      min: first - 2.5 * stepMs,
      max: first + 2.5 * stepMs,
      afterBuildTicks: (axis) => {
        axis.ticks = around;
      },
      ticks: { maxRotation: 0, callback: (value) => timeLabel(value, stepMs) },
    };
  }
  const stepSize = TIME_STEPS_MS.find((step) => span / step <= maxTicks) ?? TIME_STEPS_MS.at(-1);
  return { type: 'linear', ticks: { stepSize, maxRotation: 0, callback: (value) => timeLabel(value, span) } };
}

const tooltipTime = { callbacks: { title: (items) => (items[0] ? new Date(items[0].parsed.x).toLocaleString() : '') } };

/** Creates the chart on first use, then swaps its data and options in place on refresh. */
function draw(id, config) {
  const existing = charts.get(id);
  if (existing && existing.config.type === config.type) {
    existing.data = config.data;
    existing.options = config.options;
    existing.update('none');
    return existing;
  }
  existing?.destroy();
  const chart = new Chart(document.getElementById(id), config);
  charts.set(id, chart);
  return chart;
}

const number = (value, digits = 3) => (value === null || value === undefined || Number.isNaN(value) ? '–' : Number(value).toFixed(digits));
const percent = (value) => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}%`);
const groupBy = (items, key) => items.reduce((groups, item) => groups.set(key(item), [...(groups.get(key(item)) ?? []), item]), new Map());

function renderCards(details, summary, drift) {
  const totals = summary.versions;
  const predictions = totals.reduce((sum, row) => sum + row.predictions, 0);
  const labelled = totals.reduce((sum, row) => sum + row.labelled, 0);
  const correct = totals.reduce((sum, row) => sum + row.correct, 0);
  const latest = latestWindow(drift);
  const inputs = latest.filter((row) => isInput(row.feature));
  const drifted = new Set(inputs.filter((row) => row.drifted).map((row) => row.feature));
  const features = new Set(inputs.map((row) => row.feature));
  const outputsDrifted = latest.some((row) => row.drifted && row.feature.startsWith('outputs.'));
  const card = (label, value, note, alert = false) =>
    el(
      'div',
      { class: alert ? 'card alert' : 'card' },
      el('div', { class: 'label' }, label),
      el('div', { class: 'value' }, value),
      el('div', { class: 'note' }, note),
    );
  const aliases = details.model.aliases;
  document
    .getElementById('cards')
    .replaceChildren(
      card(
        'production',
        aliases.production ? `v${aliases.production}` : '–',
        details.model.serving ? `served since ${new Date(details.model.serving.deployedAt).toLocaleTimeString()}` : 'not served',
      ),
      card(
        'staging',
        aliases.staging ? `v${aliases.staging}` : '–',
        `${details.versions.length} version${details.versions.length === 1 ? '' : 's'} registered`,
      ),
      card('predictions logged', predictions.toLocaleString(), `${labelled.toLocaleString()} with ground truth`),
      card(
        'accuracy',
        labelled ? percent(correct / labelled) : '–',
        labelled ? `${correct.toLocaleString()} of ${labelled.toLocaleString()} correct` : 'no ground truth yet',
      ),
      card(
        'drifted features',
        features.size ? `${drifted.size} of ${features.size}` : '–',
        features.size
          ? `${drifted.size ? [...drifted].join(', ') : 'latest window within thresholds'}${outputsDrifted ? '; predictions drifted too' : ''}`
          : 'no drift run yet',
        drifted.size > 0,
      ),
    );
}

function renderRegistry({ model, versions, history }) {
  const now = Date.now();
  const moves = history.filter((entry) => entry.alias && (entry.action === 'promoted' || entry.action === 'rolled_back'));
  const aliases = [...new Set([...moves.map((entry) => entry.alias), ...Object.keys(model.aliases)])].sort();
  const datasets = aliases.map((alias, index) => {
    const points = moves.filter((entry) => entry.alias === alias).map((entry) => ({ x: Date.parse(entry.at), y: entry.toVersion }));
    if (points.length && model.aliases[alias] !== undefined) points.push({ x: now, y: model.aliases[alias] });
    // Aliases often share a version: later ones are dashed with bigger points so none hides another.
    return {
      label: alias,
      data: points,
      stepped: 'before',
      borderColor: colorOf(index),
      backgroundColor: colorOf(index),
      borderDash: index === 0 ? [] : [8, 6],
      pointRadius: 4 + 2 * index,
      pointStyle: index === 0 ? 'circle' : 'rectRot',
    };
  });
  const all = datasets.flatMap((dataset) => dataset.data);
  draw('chart-aliases', {
    type: 'line',
    data: { datasets },
    options: {
      scales: {
        x: timeAxis(all),
        y: { title: { display: true, text: 'version' }, ticks: { precision: 0 }, suggestedMin: 0, suggestedMax: model.latestVersion + 1 },
      },
      plugins: { tooltip: tooltipTime },
    },
  });
  const holders = Object.entries(model.aliases);
  fillTable(
    'versions',
    ['version', 'status', 'aliases', 'registered', 'metrics', 'run'],
    [...versions].reverse().map((version) => ({
      attributes: holders.some(([, held]) => held === version.version) ? { class: 'current' } : {},
      cells: [
        `v${version.version}`,
        version.status,
        holders
          .filter(([, held]) => held === version.version)
          .map(([alias]) => alias)
          .join(', ') || '–',
        new Date(version.createdAt).toLocaleString(),
        Object.entries(version.metrics)
          .map(([key, value]) => `${key} ${number(value)}`)
          .join(', ') || '–',
        version.runId ? version.runId.slice(0, 8) : '–',
      ],
    })),
  );
  fillTable(
    'history',
    ['when', 'action', 'alias', 'from', 'to', 'who', 'reason'],
    [...history].reverse().map((entry) => ({
      cells: [new Date(entry.at).toLocaleString(), entry.action, entry.alias ?? '', entry.fromVersion ?? '', entry.toVersion ?? '', entry.actor, entry.reason],
    })),
  );
}

function renderTraffic({ bucketMs, points }) {
  for (const node of document.querySelectorAll('.bucket')) node.textContent = bucketMs >= 60_000 ? `${bucketMs / 60_000} min` : `${bucketMs / 1000} s`;
  const byVersion = groupBy(points, (point) => point.version);
  const volume = [...byVersion].map(([version, rows], index) => ({
    label: `v${version}`,
    data: [...groupBy(rows, (row) => row.t)].map(([t, group]) => ({ x: t, y: group.reduce((sum, row) => sum + row.count, 0) })),
    backgroundColor: colorOf(index),
  }));
  const all = volume.flatMap((dataset) => dataset.data);
  draw('chart-volume', {
    type: 'bar',
    data: { datasets: volume },
    options: {
      scales: {
        x: { ...timeAxis(all, { stepMs: bucketMs }), stacked: true, offset: true },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: 'predictions' } },
      },
      datasets: { bar: { barPercentage: 1, categoryPercentage: 1, grouped: false } },
      plugins: { tooltip: tooltipTime },
    },
  });
  const online = points.filter((point) => point.source === 'online' && point.p50 !== null);
  const latency = [...groupBy(online, (point) => point.version)].flatMap(([version, rows], index) => [
    {
      label: `v${version} p50`,
      data: rows.map((row) => ({ x: row.t, y: row.p50 })),
      borderColor: colorOf(index),
      backgroundColor: colorOf(index),
      pointRadius: 2,
    },
    { label: `v${version} p95`, data: rows.map((row) => ({ x: row.t, y: row.p95 })), borderColor: colorOf(index), borderDash: [6, 4], pointRadius: 0 },
  ]);
  draw('chart-latency', {
    type: 'line',
    data: { datasets: latency },
    options: {
      scales: {
        x: timeAxis(
          online.map((row) => ({ x: row.t })),
          { stepMs: bucketMs },
        ),
        y: { beginAtZero: true, title: { display: true, text: 'ms' } },
      },
      plugins: { tooltip: tooltipTime },
    },
  });
}

/** Each rollout's share over time as a stepped line (until now while it runs), and every step's figures and verdict. */
function renderRollouts(rollouts) {
  document.getElementById('rollouts-none').hidden = rollouts.length > 0;
  document.getElementById('chart-rollouts').hidden = rollouts.length === 0;
  // No rollout, no chart: an empty one would only draw axes.
  if (rollouts.length === 0) {
    charts.get('chart-rollouts')?.destroy();
    charts.delete('chart-rollouts');
    fillTable('rollouts', [], []);
    return;
  }
  const now = Date.now();
  const datasets = [...rollouts].reverse().map((rollout, index) => {
    const points = rollout.history.map((step) => ({ x: Date.parse(step.startedAt), y: step.percent }));
    const end = rollout.endedAt ? Date.parse(rollout.endedAt) : now;
    points.push({ x: end, y: rollout.state === 'promoted' ? 100 : rollout.endedAt ? 0 : rollout.steps[rollout.stepIndex] });
    return {
      label: `${rollout.mode} v${rollout.baseline} → v${rollout.candidate} (${rollout.state.replace('_', ' ')})`,
      data: points,
      stepped: 'before',
      borderColor: colorOf(index),
      backgroundColor: colorOf(index),
      pointRadius: 3,
    };
  });
  draw('chart-rollouts', {
    type: 'line',
    data: { datasets },
    options: {
      scales: { x: timeAxis(datasets.flatMap((dataset) => dataset.data)), y: { min: 0, max: 100, title: { display: true, text: '% of requests' } } },
      plugins: { tooltip: tooltipTime },
    },
  });
  const steps = rollouts.flatMap((rollout) => [...rollout.history].reverse().map((step) => ({ rollout, step, figures: step.figures })));
  fillTable(
    'rollouts',
    ['rollout', 'step', 'share', 'started', 'requests', 'errors', 'p99 ms', 'output drift', 'verdict'],
    steps.map(({ rollout, step, figures }) => ({
      attributes: step.verdict === 'failed' ? { class: 'alert' } : {},
      cells: [
        `${rollout.mode} v${rollout.baseline} → v${rollout.candidate}, ${rollout.state.replace('_', ' ')}`,
        `${step.index + 1} of ${rollout.steps.length}`,
        `${step.percent}%`,
        new Date(step.startedAt).toLocaleString(),
        figures ? figures.candidate.requests : '–',
        figures ? figures.candidate.errors : '–',
        figures ? number(figures.candidate.p99Ms, 1) : '–',
        figures ? number(figures.outputDrift) : '–',
        step.verdict ? `${step.verdict}: ${step.reason}` : 'under way',
      ],
    })),
  );
}

/** The rows of the most recent drift window (of whichever version it was computed for), inputs first. */
function latestWindow(drift) {
  const last = drift.at(-1);
  return last ? sortFeatures(drift.filter((row) => row.windowEnd === last.windowEnd && row.version === last.version)) : [];
}

// drift_metrics holds input features, model outputs (`outputs.<name>`) and one whole-dataset row.
const DATASET_FEATURE = '__dataset__';
const P_VALUE_METHODS = new Set(['ks', 'chi_square', 'z_test']);
const SCORE_CAP = 10;
const isInput = (feature) => !feature.startsWith('outputs.') && feature !== DATASET_FEATURE;
const featureRank = (feature) => (isInput(feature) ? 0 : feature === DATASET_FEATURE ? 2 : 1);
const sortFeatures = (rows) => [...rows].sort((a, b) => featureRank(a.feature) - featureRank(b.feature) || a.feature.localeCompare(b.feature));
const featureName = (feature) => (feature === DATASET_FEATURE ? 'whole dataset' : feature);

/**
 * One scale for every method: 1 at the threshold, above 1 drifted. Distances divide by their
 * threshold; p-values compare logarithms, so p = 0.05 scores 1 and p = 0.0025 scores 2.
 */
function driftScore(row) {
  if (P_VALUE_METHODS.has(row.method)) return Math.log(Math.max(row.value, 1e-300)) / Math.log(row.threshold);
  return row.threshold > 0 ? row.value / row.threshold : 0;
}

function renderDrift(drift) {
  const latest = latestWindow(drift);
  document.getElementById('drift-window').textContent = latest.length
    ? `window ending ${new Date(latest[0].windowEnd).toLocaleString()}`
    : 'no drift computed yet';
  draw('chart-drift-latest', {
    type: 'bar',
    data: {
      labels: latest.map((row) => `${featureName(row.feature)} (${row.method})`),
      datasets: [
        {
          type: 'bar',
          label: 'drift score',
          data: latest.map((row) => Math.min(SCORE_CAP, driftScore(row))),
          backgroundColor: latest.map((row) => (row.drifted ? DRIFTED : PALETTE[0])),
        },
        { type: 'line', label: 'threshold (score 1)', data: latest.map(() => 1), borderColor: THRESHOLD, borderDash: [6, 4], pointRadius: 0 },
      ],
    },
    options: {
      scales: { y: { beginAtZero: true, suggestedMax: 2, title: { display: true, text: 'score (1 = threshold)' } } },
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) => {
              const row = latest[item.dataIndex];
              return item.datasetIndex === 0
                ? `${row.method} ${number(row.value, 4)} against threshold ${row.threshold}${row.drifted ? ': drifted' : ''}`
                : 'threshold';
            },
          },
        },
      },
    },
  });
  const windows = [...groupBy(drift, (row) => `${row.version} ${row.windowEnd}`).values()].reverse();
  const driftedOf = (rows, keep) => [...new Set(rows.filter((row) => row.drifted && keep(row.feature)).map((row) => row.feature))].join(', ') || 'none';
  fillTable(
    'drift-table',
    ['window end', 'version', 'rows (reference / current)', 'drifted features', 'drifted outputs'],
    windows.slice(0, 8).map((rows) => ({
      attributes: rows.some((row) => row.drifted && isInput(row.feature)) ? { class: 'alert' } : {},
      cells: [
        new Date(rows[0].windowEnd).toLocaleString(),
        `v${rows[0].version}`,
        `${rows[0].referenceSize} / ${rows[0].currentSize}`,
        driftedOf(rows, isInput),
        driftedOf(rows, (feature) => feature.startsWith('outputs.')),
      ],
    })),
  );
  renderDriftGrid(drift);
}

/** One small chart per feature: each method's value per window, its threshold dashed, drifted windows in red. */
function renderDriftGrid(drift) {
  const grid = document.getElementById('drift-grid');
  const features = [...new Set(sortFeatures(drift).map((row) => row.feature))];
  const ids = features.map((feature) => `chart-drift-${feature.replace(/[^\w-]/g, '_')}`);
  if (grid.dataset.features !== ids.join(',')) {
    for (const id of [...charts.keys()].filter((key) => key.startsWith('chart-drift-') && key !== 'chart-drift-latest')) {
      charts.get(id).destroy();
      charts.delete(id);
    }
    grid.replaceChildren(
      ...features.map((feature, index) =>
        el('div', { class: 'panel' }, el('h3', {}, `${featureName(feature)} over time`), el('div', { class: 'chart small' }, el('canvas', { id: ids[index] }))),
      ),
    );
    grid.dataset.features = ids.join(',');
  }
  features.forEach((feature, index) => {
    const byMethod = [
      ...groupBy(
        drift.filter((row) => row.feature === feature),
        (row) => row.method,
      ),
    ];
    const datasets = byMethod.flatMap(([method, rows], methodIndex) => [
      {
        label: method,
        data: rows.map((row) => ({ x: Date.parse(row.windowEnd), y: row.value })),
        borderColor: colorOf(methodIndex),
        pointBackgroundColor: rows.map((row) => (row.drifted ? DRIFTED : colorOf(methodIndex))),
        pointBorderColor: rows.map((row) => (row.drifted ? DRIFTED : colorOf(methodIndex))),
        pointRadius: 5,
      },
      {
        label: `${method} threshold`,
        data: rows.map((row) => ({ x: Date.parse(row.windowEnd), y: row.threshold })),
        borderColor: THRESHOLD,
        borderDash: [6, 4],
        pointRadius: 0,
      },
    ]);
    draw(ids[index], {
      type: 'line',
      data: { datasets },
      options: {
        scales: {
          x: timeAxis(
            datasets.flatMap((dataset) => dataset.data),
            { maxTicks: 3 },
          ),
          y: { beginAtZero: true },
        },
        plugins: { legend: { labels: { boxWidth: 12, font: { size: 11 } } }, tooltip: tooltipTime },
      },
    });
  });
}

const windowNote = (rows, none) => (rows.length ? `v${rows[0].version}, window ending ${new Date(rows[0].windowEnd).toLocaleString()}` : none);
const WAITING = 'none computed yet: mlops drift run computes it';

// data_quality keeps refusals on a pseudo-feature.
const REQUESTS_FEATURE = '__requests__';
const REFUSED_PREFIX = 'refused:';

/** The latest window's checks per feature (crossed first, as the query orders them) and the refused requests by error code. */
function renderQuality(quality) {
  document.getElementById('quality-window').textContent = windowNote(quality, WAITING);
  const checks = quality.filter((row) => row.feature !== REQUESTS_FEATURE);
  fillTable(
    'quality-table',
    ['feature', 'check', 'share failing', 'predictions failing', 'threshold'],
    checks.map((row) => ({
      attributes: row.crossed ? { class: 'alert' } : {},
      cells: [row.feature, row.check, percent(row.value), `${row.failing} of ${row.rows}`, row.threshold === null ? 'reported only' : percent(row.threshold)],
    })),
  );
  const refused = quality.filter((row) => row.feature === REQUESTS_FEATURE && row.check.startsWith(REFUSED_PREFIX));
  document.getElementById('quality-refused-none').hidden = refused.length > 0 || quality.length === 0;
  fillTable(
    'quality-refused',
    refused.length ? ['error code', 'requests refused', `share of ${refused[0].rows} requests`] : [],
    refused.map((row) => ({ cells: [row.check.slice(REFUSED_PREFIX.length), row.failing, percent(row.value)] })),
  );
}

/** Each feature's importance per window of the latest version as lines (none drawn before any), and its latest drift. */
function renderImportance(attributions) {
  const version = attributions.at(-1)?.version;
  const rows = attributions.filter((row) => row.version === version);
  const features = rows.filter((row) => row.feature !== DATASET_FEATURE);
  const canvas = document.getElementById('chart-importance');
  canvas.hidden = features.length === 0;
  document.getElementById('importance-version').textContent = version === undefined ? WAITING : `v${version}`;
  if (features.length === 0) {
    charts.get('chart-importance')?.destroy();
    charts.delete('chart-importance');
  } else {
    const datasets = [...groupBy(features, (row) => row.feature)]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([feature, series], index) => ({
        label: feature,
        data: series.map((row) => ({ x: Date.parse(row.windowEnd), y: row.currentImportance })),
        borderColor: colorOf(index),
        backgroundColor: colorOf(index),
        pointBackgroundColor: series.map((row) => (row.drifted ? DRIFTED : colorOf(index))),
        pointRadius: 4,
      }));
    draw('chart-importance', {
      type: 'line',
      data: { datasets },
      options: {
        scales: { x: timeAxis(datasets.flatMap((dataset) => dataset.data)), y: { beginAtZero: true, title: { display: true, text: 'mean |attribution|' } } },
        plugins: { tooltip: tooltipTime },
      },
    });
  }
  const latest = rows.filter((row) => row.windowEnd === rows.at(-1)?.windowEnd);
  document.getElementById('importance-window').textContent = windowNote(latest, WAITING);
  const ordered = [...latest].sort((a, b) => (a.feature === DATASET_FEATURE) - (b.feature === DATASET_FEATURE) || b.value - a.value);
  fillTable(
    'importance-table',
    ['feature', 'reference share', 'window share', 'drift', 'threshold', 'method'],
    ordered.map((row) => {
      const ranking = row.feature === DATASET_FEATURE;
      return {
        attributes: row.drifted ? { class: 'alert' } : {},
        cells: [
          ranking ? 'ranking (nDCG)' : row.feature,
          percent(row.referenceShare),
          percent(row.currentShare),
          number(row.value),
          `${ranking ? 'at least' : 'at most'} ${row.threshold}`,
          row.method,
        ],
      };
    }),
  );
}

// fairness_metrics keeps the comparisons across groups on a pseudo-group.
const ALL_GROUPS = '__all__';
const GROUP_METRICS = ['selection_rate', 'accuracy', 'true_positive_rate', 'false_positive_rate'];
// The disparate impact ratio flags below its threshold; the differences above theirs.
const AT_LEAST = new Set(['disparate_impact_ratio']);

/** The latest window per attribute: each group's rates (too-small groups say so) and the comparisons against their thresholds. */
function renderFairness(fairness) {
  document.getElementById('fairness-window').textContent = windowNote(fairness, WAITING);
  const groups = [
    ...groupBy(
      fairness.filter((row) => row.group !== ALL_GROUPS),
      (row) => `${row.attribute}\u0000${row.group}`,
    ).values(),
  ];
  const metricCell = (rows, metric) => {
    const row = rows.find((candidate) => candidate.metric === metric);
    return row?.tooSmall ? 'too small' : percent(row?.value);
  };
  fillTable(
    'fairness-groups',
    ['attribute', 'group', 'predictions', 'selection rate', 'accuracy', 'true positive rate', 'false positive rate'],
    groups.map((rows) => ({
      attributes: rows.some((row) => row.tooSmall) ? { class: 'muted-row' } : {},
      cells: [rows[0].attribute, rows[0].group, rows[0].predictions, ...GROUP_METRICS.map((metric) => metricCell(rows, metric))],
    })),
  );
  fillTable(
    'fairness-comparisons',
    ['attribute', 'comparison', 'value', 'threshold', 'verdict'],
    fairness
      .filter((row) => row.group === ALL_GROUPS)
      .map((row) => ({
        attributes: row.flagged ? { class: 'alert' } : {},
        cells: [
          row.attribute,
          row.metric.replaceAll('_', ' '),
          number(row.value),
          `${AT_LEAST.has(row.metric) ? 'at least' : 'at most'} ${row.threshold}`,
          row.value === null ? 'fewer than two groups large enough' : row.flagged ? 'flagged' : 'within threshold',
        ],
      })),
  );
}

function renderPerformance({ bucketMs, points }) {
  const byVersion = [...groupBy(points, (point) => point.version)];
  const accuracy = byVersion.map(([version, rows], index) => ({
    type: 'line',
    label: `v${version} accuracy`,
    data: rows.filter((row) => row.accuracy !== null).map((row) => ({ x: row.t, y: row.accuracy })),
    borderColor: colorOf(index),
    backgroundColor: colorOf(index),
    yAxisID: 'y',
  }));
  const labelled = byVersion.map(([version, rows], index) => ({
    type: 'bar',
    label: `v${version} labelled`,
    data: rows.map((row) => ({ x: row.t, y: row.labelled })),
    backgroundColor: `${colorOf(index)}33`,
    yAxisID: 'count',
    grouped: false,
  }));
  draw('chart-performance', {
    type: 'line',
    data: { datasets: [...accuracy, ...labelled] },
    options: {
      scales: {
        x: timeAxis(
          points.map((row) => ({ x: row.t })),
          { stepMs: bucketMs },
        ),
        y: { min: 0, max: 1, title: { display: true, text: 'accuracy' }, ticks: { callback: (value) => `${Math.round(value * 100)}%` } },
        count: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'labelled predictions' } },
      },
      plugins: { tooltip: tooltipTime },
    },
  });
}

function renderRuns(runs) {
  const shown = [...runs].reverse();
  const metricKeys = [...new Set(shown.flatMap((run) => Object.keys(run.metrics)))].sort();
  const allParams = [...new Set(shown.flatMap((run) => Object.keys(run.params)))].sort();
  // Like MLflow's compare view: params that differ get a row each; the shared ones one line below.
  const differs = (key) => new Set(shown.map((run) => run.params[key])).size > 1;
  const paramKeys = allParams.filter(differs);
  const shared = allParams.filter((key) => !differs(key)).map((key) => `${key}=${shown[0].params[key]}`);
  const label = (run) => `${run.name}${run.versions.length ? ` (v${run.versions.join(', v')})` : ''}`;
  draw('chart-runs', {
    type: 'bar',
    data: {
      labels: shown.map(label),
      datasets: metricKeys.map((key, index) => ({ label: key, data: shown.map((run) => run.metrics[key] ?? null), backgroundColor: colorOf(index) })),
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  fillTable(
    'runs',
    ['', ...shown.map(label)],
    [
      { attributes: { class: 'section' }, cells: ['status', ...shown.map((run) => run.status)] },
      ...paramKeys.map((key) => ({ cells: [`param ${key}`, ...shown.map((run) => run.params[key] ?? '–')] })),
      ...metricKeys.map((key) => ({ cells: [`metric ${key}`, ...shown.map((run) => number(run.metrics[key], 4))] })),
    ],
  );
  document.getElementById('runs-shared').textContent = shared.length ? `Same in every run: ${shared.join(', ')}` : '';
}

async function renderModel(name) {
  const base = `/api/models/${encodeURIComponent(name)}`;
  const [details, summary, traffic, drift, performance, runs, rollouts, quality, attributions, fairness] = await Promise.all(
    ['', '/summary', '/traffic', '/drift', '/performance', '/runs', '/rollouts', '/quality', '/attributions', '/fairness'].map((path) =>
      getJson(`${base}${path}`),
    ),
  );
  renderRegistry(details);
  renderTraffic(traffic);
  renderRollouts(rollouts);
  renderDrift(drift);
  renderQuality(quality);
  renderImportance(attributions);
  renderFairness(fairness);
  renderPerformance(performance);
  renderRuns(runs);
  renderCards(details, summary, drift);
}

/** The model to show: the one the address names (`?model=`), else the first with a production alias, else the first. */
function chosenModel(models) {
  const named = new URLSearchParams(location.search).get('model');
  if (named !== null) return { name: models.some((model) => model.name === named) ? named : undefined, named };
  return { name: models.find((model) => model.aliases.production !== undefined)?.name ?? models[0]?.name };
}

function noticeFor(models, { name, named }) {
  if (models.length === 0) return 'No model registered yet. Run "npm run demo" to train, register, serve and monitor one.';
  if (name === undefined) return `No model named "${named}" is registered: pick one of ${models.map((model) => model.name).join(', ')} above.`;
  return '';
}

async function refresh() {
  const notice = document.getElementById('notice');
  try {
    const models = await getJson('/api/models');
    const select = document.getElementById('model');
    const names = models.map((model) => model.name);
    if (select.options.length !== names.length || [...select.options].some((option, index) => option.value !== names[index])) {
      select.replaceChildren(...names.map((name) => el('option', { value: name }, name)));
    }
    const chosen = chosenModel(models);
    notice.textContent = noticeFor(models, chosen);
    notice.hidden = notice.textContent === '';
    // An unknown name leaves the selector blank rather than showing another model under its address.
    select.value = chosen.name ?? '';
    if (chosen.name) await renderModel(chosen.name);
    document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.state = 'ready';
  } catch (error) {
    notice.hidden = false;
    notice.textContent = `Could not load the dashboard data: ${error.message}. Is the platform running (npm start)?`;
    document.body.dataset.state = 'error';
  }
}

// The address holds the choice, so a reload or a shared link shows the same model.
document.getElementById('model').addEventListener('change', (event) => {
  const address = new URL(location.href);
  address.searchParams.set('model', event.target.value);
  history.replaceState(null, '', address);
  void refresh();
});

// For browser tests and the curious: the live Chart.js instances by canvas id.
globalThis.dashboardCharts = charts;
await refresh();
setInterval(refresh, REFRESH_MS);
