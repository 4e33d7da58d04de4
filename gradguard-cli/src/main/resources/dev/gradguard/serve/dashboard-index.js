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
