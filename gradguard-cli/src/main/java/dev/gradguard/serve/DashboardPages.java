package dev.gradguard.serve;

import dev.gradguard.report.Html;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/**
 * The dashboard's two HTML pages. Both are complete without anything fetched but the JSON API: the style
 * sheet and the plotting script (a few lines drawing on {@code <canvas>}) are inline, and the script runs
 * only with the response's CSP nonce.
 */
final class DashboardPages {
    /** Polling period of the run page, milliseconds. */
    static final int POLL_MS = 1500;
    /** Clip-rate window of the run page, in steps. */
    static final int CLIP_WINDOW = 50;

    private DashboardPages() {
    }

    /** {@code /}: the runs, newest first; the table refreshes itself every 3 s. */
    static String index(String rootName, List<RunCatalog.RunInfo> runs, long nowMillis, String nonce) {
        StringBuilder rows = new StringBuilder();
        for (RunCatalog.RunInfo r : runs) {
            rows.append("<tr><td><a href=\"").append(Html.escape(runPath(r.name()))).append("\">")
                    .append(Html.escape(r.name())).append("</a></td><td class=\"num\">").append(r.steps())
                    .append("</td><td class=\"num\">").append(Html.number(r.lastLoss())).append("</td><td>")
                    .append(Html.escape(DashboardApi.status(r, nowMillis))).append("</td><td>")
                    .append(Instant.ofEpochMilli(r.modifiedMillis())).append("</td></tr>\n");
        }
        return head("gradguard runs: " + rootName, nonce) + "<body>\n<h1>Runs in <span class=\"mono\">"
                + Html.escape(rootName) + "</span></h1>\n"
                + "<p class=\"caption\">Every directory here with a metrics.jsonl, the most recently written first;"
                + " this list refreshes itself.</p>\n"
                + "<table id=\"runs\"><thead><tr><th>run</th><th>steps</th><th>last loss</th><th>status</th>"
                + "<th>last written</th></tr></thead>\n<tbody>\n" + rows + "</tbody></table>\n"
                + "<p id=\"empty\"" + (runs.isEmpty() ? "" : " hidden") + ">No runs yet.</p>\n"
                + "<script nonce=\"" + nonce + "\">\n" + INDEX_SCRIPT + "</script>\n</body>\n</html>\n";
    }

    /** {@code /run/<name>}: live charts of one run. */
    static String run(String name, String nonce) {
        return head("gradguard run " + name, nonce) + "<body data-run=\"" + Html.escape(name) + "\">\n"
                + "<p><a href=\"/\">all runs</a></p>\n"
                + "<h1>Run <span class=\"mono\">" + Html.escape(name) + "</span></h1>\n"
                + "<p>steps done: <b id=\"step\" class=\"mono\">-</b> &middot; <span id=\"status\">loading</span></p>\n"
                + canvas("c-loss", "Training loss") + canvas("c-norm", "Gradient 2-norm before and after clipping (log scale)")
                + canvas("c-clip", "Clip rate over the last " + CLIP_WINDOW + " steps")
                + canvas("c-lr", "Learning rate")
                + "<p class=\"caption\">Vertical lines: skipped steps (red: non-finite; purple: skipped with finite values)."
                + " The clip threshold appears when the run has finished and its policy has one.</p>\n"
                + "<div id=\"summary\"></div>\n"
                + "<script nonce=\"" + nonce + "\">\n" + RUN_SCRIPT + "</script>\n</body>\n</html>\n";
    }

    /** A page for an error status. */
    static String error(int status, String message) {
        return head("gradguard: " + status, "none") + "<body>\n<h1>" + status + "</h1>\n<p>" + Html.escape(message)
                + "</p>\n<p><a href=\"/\">all runs</a></p>\n</body>\n</html>\n";
    }

    /** The page path of a run, its name percent-encoded. */
    static String runPath(String name) {
        return "/run/" + URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String head(String title, String nonce) {
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<title>" + Html.escape(title) + "</title>\n<style>\n" + Html.STYLE
                + "canvas { width: 100%; max-width: 1100px; border: 1px solid #eee; display: block; }\n"
                + "figure { margin: 0 0 14px; } figcaption { font-weight: 600; margin: 4px 0; }\n"
                + "</style>\n</head>\n";
    }

    private static String canvas(String id, String caption) {
        return "<figure><figcaption>" + Html.escape(caption) + "</figcaption><canvas id=\"" + id
                + "\" width=\"1100\" height=\"240\"></canvas></figure>\n";
    }

    private static final String INDEX_SCRIPT = """
            'use strict';
            async function refresh() {
              try {
                const r = await fetch('/api/runs', {cache: 'no-store'});
                const runs = await r.json();
                const body = document.querySelector('#runs tbody');
                body.replaceChildren(...runs.map(run => {
                  const tr = document.createElement('tr');
                  const a = document.createElement('a');
                  a.href = run.url;
                  a.textContent = run.name;
                  const cells = [a, String(run.steps), fmt(run.last_loss), run.status,
                                 new Date(run.modified).toISOString()];
                  cells.forEach((c, i) => {
                    const td = document.createElement('td');
                    if (i === 1 || i === 2) td.className = 'num';
                    if (typeof c === 'string') td.textContent = c; else td.appendChild(c);
                    tr.appendChild(td);
                  });
                  return tr;
                }));
                document.getElementById('empty').hidden = runs.length > 0;
              } catch (e) { /* the server is gone or busy; try again later */ }
              setTimeout(refresh, 3000);
            }
            function fmt(v) {
              const x = Number(v);
              if (!Number.isFinite(x)) return String(v);
              return x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(3) : String(+x.toPrecision(4));
            }
            setTimeout(refresh, 3000);
            """;

    private static final String RUN_SCRIPT = """
            'use strict';
            const run = document.body.dataset.run;
            const POLL_MS = %d, WINDOW = %d;
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
            """.formatted(POLL_MS, CLIP_WINDOW);
}
