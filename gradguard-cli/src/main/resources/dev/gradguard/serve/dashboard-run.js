'use strict';
// The run page: polls the run's metrics and draws them with uPlot (served from the jar).
const run = document.body.dataset.run;
const POLL_MS = Number(document.body.dataset.pollMs), WINDOW = Number(document.body.dataset.clipWindow);
const RUNS_DIR = document.body.dataset.runsDir;
const d = {step: [], loss: [], gn: [], gnc: [], lr: [], clip: [], skip: [], nonfinite: [], ms: []};
let next = 0, threshold = null, clipSpec = null, totalSteps = null;
const charts = {};

function num(v) {
  const x = Number(v);
  return Number.isFinite(x) ? x : null;
}

function append(j) {
  for (let i = 0; i < j.step.length; i++) {
    d.step.push(j.step[i]);
    d.loss.push(num(j.loss[i]));
    d.gn.push(num(j.grad_norm[i]));
    d.gnc.push(num(j.grad_norm_clipped[i]));
    d.lr.push(num(j.lr[i]));
    d.clip.push(j.clipped[i] ? 1 : 0);
    d.skip.push(j.skipped[i]);
    d.nonfinite.push(j.nonfinite[i]);
    d.ms.push(num(j.time_ms[i]));
  }
  next = j.next;
  threshold = j.threshold;
  clipSpec = j.clip;
  totalSteps = j.total_steps;
}

function clipRate() {
  const out = [];
  let s = 0;
  for (let i = 0; i < d.clip.length; i++) {
    s += d.clip[i] - (i >= WINDOW ? d.clip[i - WINDOW] : 0);
    out.push(s / Math.min(i + 1, WINDOW));
  }
  return out;
}

// One style per axis, as in the run report: plain numbers, or scientific for every tick when any needs it.
function scientific(values) {
  return values.some(v => v !== 0 && Number.isFinite(v) && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5));
}
function text(v, sci) {
  if (v === null || !Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  return sci ? v.toExponential(1).replace('.0e', 'e') : String(+v.toPrecision(3));
}
function tickLabels(log) {
  return (u, splits) => {
    // a log axis labels its powers of ten when it has any, its other ticks only when it has none
    const decades = splits.filter(v => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
    const shown = log && decades.length > 0 ? decades : splits;
    const sci = scientific(shown);
    return splits.map(v => (shown.includes(v) ? text(v, sci) : ''));
  };
}

// vertical lines at skipped steps, under the curves
function skippedSteps(u) {
  const ctx = u.ctx, top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
  ctx.save();
  ctx.lineWidth = 1;
  for (let i = 0; i < d.step.length; i++) {
    if (!d.skip[i]) continue;
    const x = Math.round(u.valToPos(d.step[i], 'x', true)) + 0.5;
    ctx.strokeStyle = d.nonfinite[i] ? '#c01b1b' : '#8844aa';
    ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
  }
  ctx.restore();
}

const GRID = {stroke: 'rgba(0, 0, 0, 0.07)', width: 1};

function width(el) {
  return Math.max(320, Math.min(1100, el.clientWidth || 1100));
}

// series: [{label, stroke, width, dash}]; ys: one array per series; log: a log10 value axis;
// range: a fixed [min, max] of the value axis, or none to fit the data
function draw(id, yLabel, series, ys, log, range) {
  const el = document.getElementById(id);
  const signature = series.map(s => s.label).join('|') + (log ? '|log' : '');
  const data = [d.step, ...ys.map(y => (log ? y.map(v => (v !== null && v > 0 ? v : null)) : y))];
  if (charts[id] && charts[id].signature === signature) {
    charts[id].plot.setData(data);
    return;
  }
  if (charts[id]) charts[id].plot.destroy();
  const sci = v => text(v, scientific([v]));
  const opts = {
    width: width(el), height: 240,
    scales: {x: {time: false}, y: log ? {distr: 3, log: 10} : range ? {range: () => range} : {}},
    axes: [{label: 'step', values: tickLabels(false), grid: GRID},
           {label: yLabel, values: tickLabels(log), size: 70, grid: GRID}],
    series: [{label: 'step', value: (u, v) => (v === null ? '-' : String(v))},
             ...series.map(s => ({label: s.label, stroke: s.stroke, width: s.width || 1.4, dash: s.dash,
                                  points: {show: false}, value: (u, v) => (v === null ? '-' : sci(v))}))],
    cursor: {drag: {x: true, y: false}},
    legend: {live: true},
    hooks: {drawClear: [skippedSteps]},
  };
  charts[id] = {signature, plot: new uPlot(opts, data, el)};
}

function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
}

function progress(finished) {
  const n = d.step.length;
  const done = n ? d.step[n - 1] + 1 : 0;
  document.getElementById('step').textContent = String(done);
  document.getElementById('total').textContent = totalSteps ? ' of ' + totalSteps : '';
  let eta = '';
  if (!finished && totalSteps && done < totalSteps) {
    // the mean wall time of the latest steps, times the steps left
    const recent = d.ms.slice(-WINDOW).filter(v => v !== null);
    if (recent.length > 0) {
      const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
      eta = '(about ' + duration((totalSteps - done) * mean / 1000) + ' left)';
    }
  }
  document.getElementById('eta').textContent = eta;
}

function normCaption() {
  let t = 'Wide pale line: the gradient 2-norm before clipping; thin line: after the clip policy (where the policy'
      + ' left a step alone, the thin line runs inside the wide one). ';
  if (threshold !== null) {
    t += 'Dashed line: the clip threshold ' + text(threshold, false) + ' of ' + clipSpec + '.';
  } else if (clipSpec !== null) {
    t += 'The clip policy ' + clipSpec + ' has no fixed 2-norm threshold to draw.';
  } else {
    t += 'The clip policy is not known yet (the run writes it to config.json when it starts).';
  }
  document.getElementById('norm-caption').textContent = t;
}

function drawAll() {
  const positive = d.loss.every(v => v === null || v > 0);
  draw('c-loss', positive ? 'loss (log scale)' : 'loss',
       [{label: 'training loss', stroke: '#0072b2'}], [d.loss], positive);
  const norms = [{label: 'pre-clip norm', stroke: 'rgba(0, 114, 178, 0.3)', width: 6},
                 {label: 'post-clip norm', stroke: '#d55e00'}];
  const normYs = [d.gn, d.gnc];
  if (threshold !== null) {
    norms.push({label: 'clip threshold', stroke: '#009e73', dash: [6, 4]});
    normYs.push(d.step.map(() => threshold));
  }
  draw('c-norm', 'gradient norm (log scale)', norms, normYs, true);
  draw('c-clip', 'fraction clipped', [{label: 'clip rate', stroke: '#009e73'}], [clipRate()], false, [0, 1]);
  draw('c-lr', 'learning rate', [{label: 'learning rate', stroke: '#cc79a7'}], [d.lr], false);
  normCaption();
}

function showSummary(s) {
  const learned = s.learned ? 'learned' : 'did not learn';
  document.getElementById('status').textContent = 'finished: ' + learned + ' (' + s.metric + ' '
      + s.metric_value + ', baseline ' + s.baseline_value + ')';
  const after = document.getElementById('after');
  after.textContent = 'The run has finished. A dashboard started by "gradguard train --dashboard" stops with'
      + ' its run; to keep watching this directory, run: gradguard serve ' + RUNS_DIR;
  after.hidden = false;
  const table = document.createElement('table');
  for (const k of ['task', 'model', 'device', 'steps', 'final_loss', 'metric', 'metric_value', 'baseline_value',
                   'learned', 'skipped_steps', 'nonfinite_steps', 'clipped_steps', 'clip_rate',
                   'params_finite', 'param_checksum', 'wall_s']) {
    if (!(k in s)) continue;
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = k === 'clip_rate' ? (100 * s[k]).toFixed(1) + '%' : String(s[k]);
  }
  document.getElementById('summary').replaceChildren(table);
}

async function poll() {
  let delay = POLL_MS;
  try {
    const r = await fetch('/api/run/' + run.split('/').map(encodeURIComponent).join('/') + '/metrics?from=' + next,
                          {cache: 'no-store'});
    if (r.status === 404) {
      document.getElementById('status').textContent = 'no such run';
      return;
    }
    const j = await r.json();
    append(j);
    drawAll();
    progress(j.summary !== null && !j.more);
    if (j.more) {
      delay = 0;
    } else if (j.summary) {
      showSummary(j.summary);
      return;
    } else {
      document.getElementById('status').textContent = j.status;
    }
  } catch (e) {
    document.getElementById('status').textContent = 'cannot reach the server; retrying';
  }
  setTimeout(poll, delay);
}
window.addEventListener('resize', () => {
  for (const id in charts) charts[id].plot.setSize({width: width(document.getElementById(id)), height: 240});
});
poll();
