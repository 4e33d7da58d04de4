'use strict';
const run = document.body.dataset.run;
const POLL_MS = Number(document.body.dataset.pollMs), WINDOW = Number(document.body.dataset.clipWindow);
const d = {step: [], loss: [], gn: [], gnc: [], lr: [], clip: [], skip: [], nonfinite: []};
let next = 0, threshold = null;

function append(j) {
  for (let i = 0; i < j.step.length; i++) {
    d.step.push(j.step[i]);
    d.loss.push(Number(j.loss[i]));
    d.gn.push(Number(j.grad_norm[i]));
    d.gnc.push(Number(j.grad_norm_clipped[i]));
    d.lr.push(Number(j.lr[i]));
    d.clip.push(j.clipped[i] ? 1 : 0);
    d.skip.push(j.skipped[i]);
    d.nonfinite.push(j.nonfinite[i]);
  }
  next = j.next;
  threshold = j.threshold;
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

function label(v) {
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(1).replace('.0e', 'e')
                                            : String(+v.toPrecision(3));
}

function ticks(lo, hi, log) {
  if (log && hi - lo >= 1) {
    const out = [], step = Math.max(1, Math.ceil((hi - lo) / 6));
    for (let e = Math.ceil(lo); e <= hi; e += step) out.push(e);
    return out;
  }
  const raw = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / mag;
  const step = (n < 1.5 ? 1 : n < 3.5 ? 2 : n < 7.5 ? 5 : 10) * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
  return out;
}

// series: [{name, y, color, dash}]; log: a log10 value axis (non-positive values left out)
function plot(id, series, log) {
  const cv = document.getElementById(id), ctx = cv.getContext('2d');
  const W = cv.width, H = cv.height, L = 64, R = 12, T = 22, B = 24, xs = d.step;
  ctx.clearRect(0, 0, W, H);
  ctx.font = '12px sans-serif';
  if (xs.length === 0) return;
  const x0 = xs[0], x1 = Math.max(xs[xs.length - 1], x0 + 1);
  const f = log ? v => (v > 0 && Number.isFinite(v) ? Math.log10(v) : NaN)
                : v => (Number.isFinite(v) ? v : NaN);
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (const v of s.y) {
    const t = f(v);
    if (!Number.isNaN(t)) { lo = Math.min(lo, t); hi = Math.max(hi, t); }
  }
  if (lo === Infinity) { lo = 0; hi = 1; }
  if (!log && lo > 0) lo = 0;
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.05;
  if (log || lo < 0) lo -= pad;
  hi += pad;
  const px = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const py = t => T + (hi - t) / (hi - lo) * (H - T - B);
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#e4e4e4';
  ctx.fillStyle = '#444';
  for (const t of ticks(lo, hi, log)) {
    const y = py(t);
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - R, y); ctx.stroke();
    ctx.fillText(label(log ? Math.pow(10, t) : t), 4, y + 4);
  }
  for (const t of ticks(x0, x1, false)) {
    const x = px(t);
    ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, H - B); ctx.stroke();
    ctx.fillText(label(t), x - 8, H - 7);
  }
  for (let i = 0; i < xs.length; i++) {
    if (!d.skip[i]) continue;
    ctx.strokeStyle = d.nonfinite[i] ? '#c01b1b' : '#8844aa';
    const x = px(xs[i]);
    ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, H - B); ctx.stroke();
  }
  let lx = L + 6;
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.4;
    ctx.setLineDash(s.dash ? [6, 4] : []);
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      const t = f(s.y[i]);
      if (Number.isNaN(t)) { pen = false; continue; }
      if (pen) ctx.lineTo(px(xs[i]), py(t)); else ctx.moveTo(px(xs[i]), py(t));
      pen = true;
    }
    ctx.stroke();
    ctx.fillStyle = s.color;
    ctx.fillText(s.name, lx, 14);
    lx += ctx.measureText(s.name).width + 18;
  }
  ctx.setLineDash([]);
}

function draw() {
  const n = d.step.length;
  document.getElementById('step').textContent = n ? String(d.step[n - 1] + 1) : '0';
  const positive = d.loss.every(v => !Number.isFinite(v) || v > 0);
  plot('c-loss', [{name: 'loss', y: d.loss, color: '#0072b2'}], positive);
  // post-clip first, so that the pre-clip curve is drawn over it and both show where they differ
  const norms = [{name: 'post-clip', y: d.gnc, color: '#d55e00'},
                 {name: 'pre-clip', y: d.gn, color: '#0072b2'}];
  if (threshold !== null) {
    norms.push({name: 'clip threshold', y: d.step.map(() => threshold), color: '#009e73', dash: true});
  }
  plot('c-norm', norms, true);
  plot('c-clip', [{name: 'fraction clipped', y: clipRate(), color: '#009e73'}], false);
  plot('c-lr', [{name: 'learning rate', y: d.lr, color: '#cc79a7'}], false);
}

function showSummary(s) {
  const learned = s.learned ? 'learned' : 'did not learn';
  document.getElementById('status').textContent = 'finished: ' + learned + ' (' + s.metric + ' '
      + s.metric_value + ', baseline ' + s.baseline_value + ')';
  const table = document.createElement('table');
  for (const k of ['task', 'model', 'steps', 'final_loss', 'metric', 'metric_value', 'baseline_value',
                   'learned', 'skipped_steps', 'nonfinite_steps', 'clipped_steps', 'clip_rate',
                   'params_finite', 'param_checksum', 'wall_s']) {
    if (!(k in s)) continue;
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = String(s[k]);
  }
  document.getElementById('summary').replaceChildren(table);
}

async function poll() {
  let delay = POLL_MS;
  try {
    const r = await fetch('/api/run/' + encodeURIComponent(run) + '/metrics?from=' + next,
                          {cache: 'no-store'});
    if (r.status === 404) {
      document.getElementById('status').textContent = 'no such run';
      return;
    }
    const j = await r.json();
    append(j);
    draw();
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
poll();
