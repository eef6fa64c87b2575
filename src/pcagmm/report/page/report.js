// pcagmm's report page: reads the data embedded in this file and draws it on canvases.
// No dependency, nothing fetched. Every text taken from the data is set as text
// (textContent), never parsed as HTML. window.pcagmmReport exposes the state for tests.
"use strict";
(function () {
  const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%()*+-;=?@^_{|}~.,:[";
  const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const TAB20 = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd", "#c5b0d5",
    "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5"];
  const MARGIN = { left: 64, right: 12, top: 12, bottom: 42 };
  const HOVER_RADIUS = 8;   // CSS pixels
  const MEAN_RADIUS = 10;
  const SIGMAS = [1, 2, 3];
  // matplotlib's magma_r at 17 evenly spaced points (the uncertainty figure's colours),
  // interpolated linearly between them: within 4 of 255 of matplotlib's own
  const UNCERTAINTY_RAMP = ["#fcfdbf", "#fde0a1", "#fec287", "#fea571", "#fb8761", "#f4695c", "#e55064",
    "#cf4070", "#b5367a", "#9b2e7f", "#812581", "#681c81", "#4f127b", "#341069", "#1c1044", "#090720", "#000004"];
  // the density contours' colours, the smallest share (25%) first: the figure's (viridis,
  // the innermost darkest)
  const CONTOUR_COLOURS = ["#440154", "#443a83", "#306a8e", "#20928c", "#3bbb75", "#9bd93c"];
  const CONTOUR_CELL = 4;  // CSS pixels between the grid points the contours are traced on
  const meta = JSON.parse(document.getElementById("pcagmm-meta").textContent);
  const api = { meta, readyMs: null, errors: [] };
  window.pcagmmReport = api;

  const $ = (id) => document.getElementById(id);
  const el = (tag, props, text) => {
    const node = document.createElement(tag);
    if (props) for (const [k, v] of Object.entries(props)) node[k] = v;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // ------------------------------------------------------------------ the embedded data
  function base85(id, length) {
    const text = $(id).textContent;
    const table = new Uint8Array(128);
    for (let i = 0; i < 85; i++) table[ALPHABET.charCodeAt(i)] = i;
    const groups = Math.floor(text.length / 5);
    const out = new Uint8Array(groups * 4);
    for (let g = 0, c = 0, o = 0; g < groups; g++, c += 5, o += 4) {
      let v = table[text.charCodeAt(c)];
      v = v * 85 + table[text.charCodeAt(c + 1)];
      v = v * 85 + table[text.charCodeAt(c + 2)];
      v = v * 85 + table[text.charCodeAt(c + 3)];
      v = v * 85 + table[text.charCodeAt(c + 4)];
      out[o] = (v / 16777216) & 255;
      out[o + 1] = (v >>> 16) & 255;
      out[o + 2] = (v >>> 8) & 255;
      out[o + 3] = v & 255;
    }
    return out.subarray(0, length);
  }

  async function blob(name) {
    const layout = meta.blobs[name];
    if (!layout) return null;
    const parts = await Promise.all(layout.parts.map(async (deflated, i) => {
      const packed = base85(`blob-${name}-${i}`, deflated);
      const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
      return new Uint8Array(await new Response(stream).arrayBuffer());
    }));
    const whole = parts.length === 1 ? parts[0] : new Uint8Array(layout.bytes);
    if (parts.length > 1) {
      let offset = 0;
      for (const part of parts) { whole.set(part, offset); offset += part.length; }
    }
    if (whole.byteLength !== layout.bytes) throw new Error("blob " + name + " is damaged");
    return whole.buffer;
  }

  function integers(buffer, count) {
    if (!buffer) return null;
    const width = buffer.byteLength / count;
    return width === 1 ? new Uint8Array(buffer) : width === 2 ? new Uint16Array(buffer) : new Uint32Array(buffer);
  }

  // ----------------------------------------------------------------------------- state
  const n = meta.rows_shown;
  const mixture = meta.mixture;
  const K = mixture.K;
  const state = {
    axes: [], rows: null, labels: null, clusters: null, images: null, probabilities: null,
    colourBy: meta.classes ? "label" : "cluster", x: 0, y: 1,
    hidden: { label: new Set(), cluster: new Set() },
    showEllipses: true, showMeans: true, showDensity: false, view: null, pinned: null, hovered: null,
    screenX: null, screenY: null, clusterShown: null,
  };
  api.state = state;

  function colours(count) {
    if (count <= 10) return TAB10.slice(0, count);
    if (count <= 20) return TAB20.slice(0, count);
    return Array.from({ length: count }, (_, i) => `hsl(${(i * 137.508) % 360}, 65%, 45%)`);
  }
  const labelColours = meta.classes ? colours(meta.classes.length) : [];
  const clusterColours = colours(K);
  // a variational mixture's kept components (heaviest first) and its threshold: the
  // others are switched off, drawn dashed grey and marked "off"; EM's mixture has none
  const kept = mixture.kept ? new Set(mixture.kept) : null;
  const OFF_GREY = "#8c8c8c";  // the figures' grey of a switched-off component
  function isOff(k) { return kept !== null && !kept.has(k); }
  api.isOff = isOff;
  function rgb(colour) {
    const probe = document.createElement("canvas").getContext("2d");
    probe.fillStyle = colour;
    const hex = probe.fillStyle;  // normalised to #rrggbb
    return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  }
  const palettes = { label: labelColours.map(rgb), cluster: clusterColours.map(rgb) };  // [r, g, b]

  function rowNumber(i) { return state.rows ? state.rows[i] : i; }
  function coordinate(axis, i) {
    const a = state.axes[axis];
    return a.centre + a.scale * a.values[i];
  }
  function group(i) { return state.colourBy === "label" ? state.labels[i] : state.clusters[i]; }
  function hex(colour) { return [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16)); }

  // --------------------------------------------------------------- cluster probabilities
  // log N(z | mean, covariance) by a Cholesky factor, for the page's axes (all of them)
  const factors = mixture.all_components ? mixture.covariances.map(cholesky) : null;
  function cholesky(matrix) {
    const d = matrix.length;
    const L = Array.from({ length: d }, () => new Float64Array(d));
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let s = matrix[i][j];
        for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
        L[i][j] = i === j ? Math.sqrt(Math.max(s, 0)) : s / L[j][j];
      }
    }
    return L;
  }
  const zScratch = new Float64Array(meta.axes.length), uScratch = new Float64Array(meta.axes.length);
  const logScratch = new Float64Array(K);
  function componentLogs(i, logs) {  // log(weight_k) + log N(z_i | k), into logs
    const d = state.axes.length;
    for (let j = 0; j < d; j++) zScratch[j] = coordinate(j, i);
    for (let k = 0; k < K; k++) {
      const L = factors[k];
      const mean = mixture.means[k];
      let quadratic = 0, logDet = 0;
      for (let a = 0; a < d; a++) {  // solve L u = z - mean
        let s = zScratch[a] - mean[a];
        for (let b = 0; b < a; b++) s -= L[a][b] * uScratch[b];
        uScratch[a] = s / L[a][a];
        quadratic += uScratch[a] * uScratch[a];
        logDet += Math.log(L[a][a]);
      }
      logs[k] = Math.log(mixture.weights[k]) - logDet - 0.5 * quadratic - 0.5 * d * Math.log(2 * Math.PI);
    }
    let top = -Infinity;
    for (let k = 0; k < K; k++) if (logs[k] > top) top = logs[k];
    return top;
  }
  function probabilities(i) {
    if (state.probabilities) {
      return Array.from({ length: K }, (_, k) => state.probabilities[i * K + k] / 255);
    }
    const top = componentLogs(i, logScratch);
    let total = 0;
    const p = Array.from(logScratch, (v) => { const e = Math.exp(v - top); total += e; return e; });
    return p.map((v) => v / total);
  }
  function largestProbability(i) {  // max_k of probabilities(i), without the array
    if (state.probabilities) {
      let top = 0;
      for (let k = 0; k < K; k++) top = Math.max(top, state.probabilities[i * K + k]);
      return top / 255;
    }
    const top = componentLogs(i, logScratch);
    let total = 0;
    for (let k = 0; k < K; k++) total += Math.exp(logScratch[k] - top);
    return 1 / total;  // the largest term is exp(0)
  }
  api.probabilities = probabilities;

  // ---------------------------------------------------------------- classification uncertainty
  // 1 - the largest cluster probability of each row (from every component of the
  // projection, as the uncertainty figure), and the rows in order of increasing uncertainty
  const largestUncertainty = 1 - 1 / K;
  const ramp = UNCERTAINTY_RAMP.map(hex);
  let uncertain = null;
  function uncertainties() {
    if (uncertain) return uncertain;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = 1 - largestProbability(i);
    const order = Uint32Array.from(values.keys()).sort((a, b) => values[a] - values[b] || a - b);
    let above = 0;
    for (let i = 0; i < n; i++) if (values[i] > meta.uncertainty.unsure) above++;
    uncertain = { values, order, share: n ? above / n : 0 };
    return uncertain;
  }
  function uncertaintyColour(u) {  // [r, g, b] of the ramp at u / the largest uncertainty
    const t = largestUncertainty > 0 ? Math.min(Math.max(u / largestUncertainty, 0), 1) : 0;
    const f = t * (ramp.length - 1), lo = Math.min(Math.floor(f), ramp.length - 2), w = f - lo;
    return [0, 1, 2].map((c) => Math.round(ramp[lo][c] + w * (ramp[lo + 1][c] - ramp[lo][c])));
  }
  api.uncertainties = () => Array.from(uncertainties().values);
  api.uncertaintyShare = () => uncertainties().share;
  api.uncertaintyColour = uncertaintyColour;

  // ------------------------------------------------------------------- the density contours
  // The mixture's marginal on two of the page's axes (its covariances' 2 x 2 blocks), its
  // highest-density-region levels by mclust's rule (the 1 - p quantile of log f over
  // draws from the mixture: meta.density.draws of them from a seeded generator, made once
  // per pair of axes) and its contours at those levels, traced by marching squares.
  function planeMixture(x, y) {
    return Array.from({ length: K }, (_, k) => {
      const c = mixture.covariances[k];
      const l00 = Math.sqrt(c[x][x]), l10 = c[x][y] / l00;
      const l11 = Math.sqrt(Math.max(c[y][y] - l10 * l10, 0));
      return {
        weight: mixture.weights[k], mx: mixture.means[k][x], my: mixture.means[k][y], l00, l10, l11,
        constant: Math.log(mixture.weights[k]) - Math.log(l00 * l11) - Math.log(2 * Math.PI),
      };
    });
  }
  const scratch = new Float64Array(K);
  function planeLogDensity(parts, px, py) {
    let top = -Infinity;
    for (let k = 0; k < K; k++) {
      const p = parts[k];
      const u1 = (px - p.mx) / p.l00, u2 = (py - p.my - p.l10 * u1) / p.l11;
      const v = p.constant - 0.5 * (u1 * u1 + u2 * u2);
      scratch[k] = v;
      if (v > top) top = v;
    }
    if (top === -Infinity) return top;
    let total = 0;
    for (let k = 0; k < K; k++) total += Math.exp(scratch[k] - top);
    return top + Math.log(total);
  }
  function generator(seed) {  // mulberry32: uniform in [0, 1)
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  function quantile(sorted, q) {  // numpy's default ("linear")
    const h = (sorted.length - 1) * q, lo = Math.floor(h), hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
  }
  const levelsOf = new Map();
  function hdrLevels(x, y) {
    const key = x + "," + y;
    if (levelsOf.has(key)) return levelsOf.get(key);
    const parts = planeMixture(x, y);
    const random = generator(meta.density.seed);
    const total = parts.reduce((s, p) => s + p.weight, 0);
    const draws = meta.density.draws, values = new Float64Array(draws);
    for (let i = 0; i < draws; i++) {
      let r = random() * total, k = 0;
      while (k < K - 1 && r >= parts[k].weight) { r -= parts[k].weight; k++; }
      const radius = Math.sqrt(-2 * Math.log(1 - random())), angle = 2 * Math.PI * random();
      const n1 = radius * Math.cos(angle), n2 = radius * Math.sin(angle);  // Box-Muller
      const p = parts[k];
      values[i] = planeLogDensity(parts, p.mx + p.l00 * n1, p.my + p.l10 * n1 + p.l11 * n2);
    }
    values.sort();
    const levels = meta.density.shares.map((share) => quantile(values, 1 - share));
    levelsOf.set(key, levels);
    return levels;
  }
  api.hdrLevels = hdrLevels;
  api.planeLogDensity = (x, y, points) => { const parts = planeMixture(x, y); return points.map(([a, b]) => planeLogDensity(parts, a, b)); };
  // marching squares: for each case of the corners above the level (bit 0 bottom-left,
  // 1 bottom-right, 2 top-right, 3 top-left), the edges each segment joins (0 bottom,
  // 1 right, 2 top, 3 left); the saddles 5 and 10 are split by the cell's centre
  const CASES = [[], [[3, 0]], [[0, 1]], [[3, 1]], [[1, 2]], null, [[0, 2]], [[3, 2]],
    [[3, 2]], [[0, 2]], null, [[1, 2]], [[3, 1]], [[0, 1]], [[3, 0]], []];
  const CORNER_I = [0, 1, 1, 0], CORNER_J = [0, 0, 1, 1], EDGE_FROM = [0, 1, 2, 3], EDGE_TO = [1, 2, 3, 0];
  function contourSegments(grid, level) {  // [x0, y0, x1, y1] in data coordinates
    const { xs, ys, values, nx, ny } = grid, segments = [], v = new Float64Array(4);
    const end = (edge, i, j) => {
      const a = EDGE_FROM[edge], b = EDGE_TO[edge], t = (level - v[a]) / (v[b] - v[a]);
      const xa = xs[i + CORNER_I[a]], ya = ys[j + CORNER_J[a]];
      return [xa + t * (xs[i + CORNER_I[b]] - xa), ya + t * (ys[j + CORNER_J[b]] - ya)];
    };
    for (let j = 0; j < ny - 1; j++) {
      for (let i = 0; i < nx - 1; i++) {
        let index = 0, finite = true;
        for (let c = 0; c < 4; c++) {
          v[c] = values[(j + CORNER_J[c]) * nx + i + CORNER_I[c]];
          if (!Number.isFinite(v[c])) finite = false;
          if (v[c] > level) index |= 1 << c;
        }
        if (!finite || index === 0 || index === 15) continue;
        let pairs = CASES[index];
        if (pairs === null) {
          const centreAbove = (v[0] + v[1] + v[2] + v[3]) / 4 > level;
          pairs = (index === 5) === centreAbove ? [[0, 1], [2, 3]] : [[3, 0], [1, 2]];
        }
        for (const [e0, e1] of pairs) segments.push([...end(e0, i, j), ...end(e1, i, j)]);
      }
    }
    return segments;
  }

  // ------------------------------------------------------------------------------ view
  const plot = $("plot"), canvas = $("points"), overlay = $("overlay");
  let cssWidth = 0, cssHeight = 0, ratio = 1;

  function size() {
    cssWidth = Math.max(480, Math.min(900, document.documentElement.clientWidth - 420));
    cssHeight = Math.round(cssWidth * 0.78);
    ratio = window.devicePixelRatio || 1;
    for (const c of [canvas, overlay]) {
      c.width = Math.round(cssWidth * ratio);
      c.height = Math.round(cssHeight * ratio);
      c.style.width = cssWidth + "px";
      c.style.height = cssHeight + "px";
    }
    plot.style.width = cssWidth + "px";
    plot.style.height = cssHeight + "px";
  }

  function range(axis) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = coordinate(axis, i);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(lo < hi)) { const c = Number.isFinite(lo) ? lo : 0; lo = c - 1; hi = c + 1; }
    const pad = (hi - lo) * 0.04;
    return [lo - pad, hi + pad];
  }
  function resetView() {
    const [x0, x1] = range(state.x);
    const [y0, y1] = state.y === null ? [-0.05, 1.05] : range(state.y);
    state.view = { x0, x1, y0, y1 };
  }
  function yValue(i) { return state.y === null ? i / Math.max(1, n - 1) : coordinate(state.y, i); }
  // data -> CSS pixels in the canvas
  function toScreen(x, y) {
    const v = state.view, w = cssWidth - MARGIN.left - MARGIN.right, h = cssHeight - MARGIN.top - MARGIN.bottom;
    return [MARGIN.left + (x - v.x0) / (v.x1 - v.x0) * w, MARGIN.top + (v.y1 - y) / (v.y1 - v.y0) * h];
  }
  function toData(sx, sy) {
    const v = state.view, w = cssWidth - MARGIN.left - MARGIN.right, h = cssHeight - MARGIN.top - MARGIN.bottom;
    return [v.x0 + (sx - MARGIN.left) / w * (v.x1 - v.x0), v.y1 - (sy - MARGIN.top) / h * (v.y1 - v.y0)];
  }
  api.toScreen = toScreen;
  api.screenOfRow = (i) => {  // CSS pixels in the page
    const [sx, sy] = toScreen(coordinate(state.x, i), yValue(i));
    const box = overlay.getBoundingClientRect();
    return [box.left + sx, box.top + sy];
  };

  // ----------------------------------------------------------------------------- drawing
  function draw() {
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    const image = ctx.createImageData(W, H);
    const data = image.data;
    data.fill(255);
    const dot = Math.max(2, Math.round(2 * ratio));
    const left = MARGIN.left * ratio, right = W - MARGIN.right * ratio;
    const top = MARGIN.top * ratio, bottom = H - MARGIN.bottom * ratio;
    state.screenX = new Float32Array(n);
    state.screenY = new Float32Array(n);
    if (state.colourBy === "uncertainty") drawUncertainty(data, W, dot, left, right, top, bottom);
    else drawGroups(data, W, dot, left, right, top, bottom);
    ctx.putImageData(image, 0, 0);
    ctx.save();
    ctx.scale(ratio, ratio);
    drawAxes(ctx);
    ctx.beginPath();
    ctx.rect(MARGIN.left, MARGIN.top, cssWidth - MARGIN.left - MARGIN.right, cssHeight - MARGIN.top - MARGIN.bottom);
    ctx.clip();
    api.contours = null;
    if (state.showDensity && state.y !== null && state.y !== state.x) drawContours(ctx);
    if (state.showEllipses && state.y !== null) drawEllipses(ctx);
    if (state.showMeans && state.y !== null) drawMeans(ctx);
    ctx.restore();
    drawOverlay();
  }
  function drawGroups(data, W, dot, left, right, top, bottom) {
    const palette = palettes[state.colourBy];
    const hidden = state.hidden[state.colourBy];
    for (let i = 0; i < n; i++) {
      const g = group(i);
      const [sx, sy] = toScreen(coordinate(state.x, i), yValue(i));
      const px = Math.round(sx * ratio - dot / 2), py = Math.round(sy * ratio - dot / 2);
      const visible = !hidden.has(g) && px >= left && px + dot <= right && py >= top && py + dot <= bottom;
      state.screenX[i] = visible ? sx : NaN;
      state.screenY[i] = visible ? sy : NaN;
      if (!visible) continue;
      const c = palette[g];
      for (let yy = py; yy < py + dot; yy++) {
        for (let xx = px, p = (yy * W + px) * 4; xx < px + dot; xx++, p += 4) {
          data[p] = (data[p] + c[0]) >> 1;  // half-transparent: where points pile up, colours mix
          data[p + 1] = (data[p + 1] + c[1]) >> 1;
          data[p + 2] = (data[p + 2] + c[2]) >> 1;
        }
      }
    }
  }
  // opaque dots in order of increasing uncertainty (the unsure on top), those at least
  // half as uncertain as a row can be twice as wide: mclust's uncertainty plot
  function drawUncertainty(data, W, dot, left, right, top, bottom) {
    const { values, order } = uncertainties();
    for (const i of order) {
      const u = values[i];
      const size = largestUncertainty > 0 && u >= meta.uncertainty.large_from * largestUncertainty ? 2 * dot : dot;
      const [sx, sy] = toScreen(coordinate(state.x, i), yValue(i));
      const px = Math.round(sx * ratio - size / 2), py = Math.round(sy * ratio - size / 2);
      const visible = px >= left && px + size <= right && py >= top && py + size <= bottom;
      state.screenX[i] = visible ? sx : NaN;
      state.screenY[i] = visible ? sy : NaN;
      if (!visible) continue;
      const c = uncertaintyColour(u);
      for (let yy = py; yy < py + size; yy++) {
        for (let xx = px, p = (yy * W + px) * 4; xx < px + size; xx++, p += 4) {
          data[p] = c[0]; data[p + 1] = c[1]; data[p + 2] = c[2];
        }
      }
    }
  }
  function drawContours(ctx) {
    const x = state.x, y = state.y, v = state.view;
    const levels = hdrLevels(x, y), parts = planeMixture(x, y);
    const w = cssWidth - MARGIN.left - MARGIN.right, h = cssHeight - MARGIN.top - MARGIN.bottom;
    const nx = Math.ceil(w / CONTOUR_CELL) + 1, ny = Math.ceil(h / CONTOUR_CELL) + 1;
    const xs = Float64Array.from({ length: nx }, (_, i) => v.x0 + (i / (nx - 1)) * (v.x1 - v.x0));
    const ys = Float64Array.from({ length: ny }, (_, j) => v.y0 + (j / (ny - 1)) * (v.y1 - v.y0));
    const values = new Float64Array(nx * ny);
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) values[j * nx + i] = planeLogDensity(parts, xs[i], ys[j]);
    const grid = { xs, ys, values, nx, ny };
    const colours = levels.map((_, l) => CONTOUR_COLOURS[l % CONTOUR_COLOURS.length]);
    const drawn = { x, y, levels, shares: meta.density.shares, colours, segments: [] };
    ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    levels.forEach((level, l) => {
      const segments = contourSegments(grid, level);
      drawn.segments.push(segments);
      ctx.strokeStyle = colours[l]; ctx.lineWidth = 1.4;
      ctx.beginPath();
      let label = null;
      for (const [x0, y0, x1, y1] of segments) {
        const [a, b] = toScreen(x0, y0), [c, d] = toScreen(x1, y1);
        ctx.moveTo(a, b); ctx.lineTo(c, d);
        if (label === null || Math.min(b, d) < label[1]) label = [(a + c) / 2, (b + d) / 2];
      }
      ctx.stroke();
      if (label === null) return;
      const text = `${Math.round(100 * meta.density.shares[l])}%`;  // at the contour's top
      ctx.lineWidth = 3; ctx.strokeStyle = "#fff"; ctx.strokeText(text, label[0], label[1]);
      ctx.fillStyle = colours[l]; ctx.fillText(text, label[0], label[1]);
    });
    api.contours = drawn;
  }

  function ticks(lo, hi, count) {
    const step0 = (hi - lo) / count;
    const power = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= step0) || step0;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi && out.length < 50; t += step) out.push(t);
    return out;
  }
  function format(v) {
    if (v === 0) return "0";
    const a = Math.abs(v);
    return a >= 1e5 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
  }
  function drawAxes(ctx) {
    const v = state.view;
    ctx.strokeStyle = "#444"; ctx.fillStyle = "#333"; ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif";
    const x0 = MARGIN.left, y0 = cssHeight - MARGIN.bottom, x1 = cssWidth - MARGIN.right, y1 = MARGIN.top;
    ctx.strokeRect(x0, y1, x1 - x0, y0 - y1);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of ticks(v.x0, v.x1, 8)) {
      const [sx] = toScreen(t, 0);
      ctx.beginPath(); ctx.moveTo(sx, y0); ctx.lineTo(sx, y0 + 4); ctx.stroke();
      ctx.fillText(format(t), sx, y0 + 6);
    }
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    if (state.y !== null) {
      for (const t of ticks(v.y0, v.y1, 7)) {
        const [, sy] = toScreen(0, t);
        ctx.beginPath(); ctx.moveTo(x0 - 4, sy); ctx.lineTo(x0, sy); ctx.stroke();
        ctx.fillText(format(t), x0 - 6, sy);
      }
    }
    ctx.textAlign = "center"; ctx.textBaseline = "bottom";
    ctx.fillText(meta.axes[state.x].name, (x0 + x1) / 2, cssHeight - 2);
    ctx.save();
    ctx.translate(12, (y0 + y1) / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "top";
    ctx.fillText(state.y === null ? "rows, in order" : meta.axes[state.y].name, 0, 0);
    ctx.restore();
  }
  function opacity(k) {
    const top = Math.max(...mixture.weights);
    return 0.25 + 0.75 * mixture.weights[k] / top;  // as the figure: heavier, darker
  }
  function drawEllipses(ctx) {
    const drawn = [];
    for (let k = 0; k < K; k++) {
      const c = mixture.covariances[k];
      const a = c[state.x][state.x], b = c[state.x][state.y], d = c[state.y][state.y];
      const mid = (a + d) / 2, half = Math.sqrt(((a - d) / 2) ** 2 + b * b);
      const major = Math.sqrt(Math.max(mid + half, 0)), minor = Math.sqrt(Math.max(mid - half, 0));
      const angle = 0.5 * Math.atan2(2 * b, a - d);
      const mx = mixture.means[k][state.x], my = mixture.means[k][state.y];
      // a switched-off component: one thin dashed grey 1 sigma ellipse, as the figure
      const off = isOff(k), sigmas = off ? [1] : SIGMAS;
      ctx.strokeStyle = off ? OFF_GREY : clusterColours[k];
      ctx.globalAlpha = off ? 1 : opacity(k);
      ctx.setLineDash(off ? [4, 3] : []);
      for (const s of sigmas) {
        ctx.lineWidth = off ? 0.8 : s === 1 ? 1.6 : 1.0;
        ctx.beginPath();
        for (let step = 0; step <= 96; step++) {
          const t = (2 * Math.PI * step) / 96;
          const u = s * major * Math.cos(t), w = s * minor * Math.sin(t);
          const [sx, sy] = toScreen(mx + u * Math.cos(angle) - w * Math.sin(angle), my + u * Math.sin(angle) + w * Math.cos(angle));
          if (step === 0) ctx.moveTo(sx, sy); else ctx.lineTo(sx, sy);
        }
        ctx.stroke();
      }
      drawn.push({ cluster: k, off, sigmas, colour: ctx.strokeStyle, dashed: off });
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    api.ellipses = drawn;
  }
  function meanScreen(k) { return toScreen(mixture.means[k][state.x], mixture.means[k][state.y]); }
  function drawMeans(ctx) {
    ctx.font = "bold 12px system-ui, sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "bottom";
    for (let k = 0; k < K; k++) {
      if (isOff(k)) continue;  // switched off: its ellipse only (they often share a place)
      const [sx, sy] = meanScreen(k);
      ctx.globalAlpha = opacity(k);
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(sx - 5, sy - 5); ctx.lineTo(sx + 5, sy + 5); ctx.moveTo(sx + 5, sy - 5); ctx.lineTo(sx - 5, sy + 5); ctx.stroke();
      ctx.fillStyle = "#000"; ctx.fillText(String(k), sx + 6, sy - 4);
    }
    ctx.globalAlpha = 1;
  }
  function drawOverlay() {
    const ctx = overlay.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    ctx.scale(ratio, ratio);
    for (const [i, colour] of [[state.hovered, "#000"], [state.pinned, "#d00"]]) {
      if (i === null || Number.isNaN(state.screenX[i])) continue;
      ctx.strokeStyle = colour; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(state.screenX[i], state.screenY[i], 6, 0, 2 * Math.PI); ctx.stroke();
    }
  }

  // ------------------------------------------------------------------------- the row panel
  const LEVEL = meta.image ? 255 / (meta.image.levels - 1) : 0;
  // grey: one level per pixel; colour (channels 3): red, green, blue of each pixel
  const CHANNELS = meta.image ? meta.image.channels || 1 : 1;
  // a picture's values (0-255, CHANNELS per pixel) onto a canvas: grey reversed
  // (255 - v: ink dark on white, as the figures draw them), colour as it is
  const REVERSE = CHANNELS === 3 ? 0 : 255;
  function paint(target, value) {
    const { height, width } = meta.image;
    target.width = width; target.height = height;
    const ctx = target.getContext("2d");
    const picture = ctx.createImageData(width, height);
    for (let p = 0; p < height * width; p++) {
      for (let c = 0; c < 3; c++) {
        picture.data[4 * p + c] = Math.abs(REVERSE - value(CHANNELS * p + (CHANNELS === 3 ? c : 0)));
      }
      picture.data[4 * p + 3] = 255;
    }
    ctx.putImageData(picture, 0, 0);
  }
  function drawImage(target, i) {
    const { height, width } = meta.image;
    const stride = Math.ceil((height * width * CHANNELS) / 2);  // two values to a byte
    paint(target, (q) => {
      const byte = state.images[i * stride + (q >> 1)];
      return Math.round((q & 1 ? byte & 15 : byte >> 4) * LEVEL);
    });
  }
  function className(i) { return meta.classes ? meta.classes[state.labels[i]] : null; }
  // the label cluster k was matched to, as pcagmm shows labels ("Ankle boot (9)", or
  // "9" where they have no names), or null
  function matched(k) {
    const found = meta.matched ? meta.matched[k] : undefined;
    return found === undefined || found === null ? null : String(found);
  }
  function showRow(i) {
    const panel = $("row-panel");
    if (i === null) { panel.hidden = true; return; }
    panel.hidden = false;
    const k = state.clusters[i];
    $("row-title").textContent = `Row ${rowNumber(i)}` + (state.pinned === i ? " (pinned)" : "");
    if (meta.image) { $("row-image").hidden = false; drawImage($("row-image"), i); }
    const facts = $("row-facts");
    facts.replaceChildren();
    const add = (name, value) => { const tr = el("tr"); tr.append(el("td", null, name), el("td", null, value)); facts.append(tr); };
    add("row", String(rowNumber(i)));
    if (meta.classes) add(meta.label_name, className(i));
    add("cluster", String(k) + (matched(k) !== null ? ` (matched to ${matched(k)})` : ""));
    add("uncertainty", (1 - largestProbability(i)).toFixed(3));
    state.axes.forEach((_, j) => { if (j < 3) add(meta.axes[j].name, format(coordinate(j, i))); });
    const bars = $("row-probabilities");
    bars.replaceChildren();
    probabilities(i).forEach((p, c) => {
      const row = el("div", { className: "bar-row" });
      const bar = el("div", { className: "bar" });
      const fill = el("div", { className: "fill" });
      fill.style.width = (100 * p).toFixed(1) + "%";
      fill.style.background = clusterColours[c];
      bar.append(fill);
      row.dataset.cluster = String(c);
      row.append(el("span", { className: "name" }, `cluster ${c}`), bar, el("span", { className: "value" }, p.toFixed(3)));
      bars.append(row);
    });
  }
  function nearest(sx, sy) {
    let best = null, bestDistance = HOVER_RADIUS * HOVER_RADIUS;
    const X = state.screenX, Y = state.screenY;
    for (let i = 0; i < n; i++) {
      const dx = X[i] - sx, dy = Y[i] - sy, d = dx * dx + dy * dy;
      if (d <= bestDistance) { bestDistance = d; best = i; }  // NaN never passes
    }
    return best;
  }
  function nearestMean(sx, sy) {
    if (!state.showMeans || state.y === null) return null;
    for (let k = 0; k < K; k++) {
      if (isOff(k)) continue;  // not drawn
      const [mx, my] = meanScreen(k);
      if ((mx - sx) ** 2 + (my - sy) ** 2 <= MEAN_RADIUS ** 2) return k;
    }
    return null;
  }

  // --------------------------------------------------------------------- the cluster panel
  function thumbnail(i, caption) {
    const box = el("div", { className: meta.image ? "thumb" : "thumb text", title: `row ${rowNumber(i)}` });
    box.dataset.row = String(rowNumber(i));
    if (meta.image) { const c = el("canvas"); drawImage(c, i); box.append(c); }
    box.append(el("div", null, caption));
    box.addEventListener("click", () => { pin(i); });
    return box;
  }
  function showCluster(k) {
    state.clusterShown = k;
    const listed = meta.cluster_rows[k];
    $("cluster-panel").hidden = false;
    const to = matched(k) !== null ? `, matched to ${meta.label_name.toLowerCase()} ${matched(k)}` : "";
    const off = isOff(k) ? ` (switched off: below ${mixture.kept_weight})` : "";
    $("cluster-title").textContent = `Cluster ${k}: ${listed.size.toLocaleString("en")} rows shown, weight ${mixture.weights[k].toFixed(4)}${off}${to}`;
    const mean = $("cluster-mean");
    mean.replaceChildren();
    if (mixture.mean_images && meta.image) {
      const c = el("canvas");
      const values = mixture.mean_images[k];
      paint(c, (q) => values[q]);
      const box = el("div", { className: "thumb" });
      box.append(c, el("div", null, "the cluster's mean"));
      mean.append(box);
    }
    $("cluster-sample-title").textContent = `A uniform sample of ${listed.sample.length} of its rows`;
    $("cluster-sample").replaceChildren(...listed.sample.map((i) => thumbnail(i, `${rowNumber(i)}` + (meta.classes ? ` · ${className(i)}` : ""))));
    $("cluster-uncertain-title").textContent = `Its ${listed.uncertain.length} most uncertain rows (lowest largest probability first)`;
    $("cluster-uncertain").replaceChildren(...listed.uncertain.map((i, j) => thumbnail(i, `${rowNumber(i)}` + (meta.classes ? ` · ${className(i)}` : "") + ` · ${listed.uncertain_probability[j].toFixed(2)}`)));
  }
  api.showCluster = showCluster;

  function pin(i) {
    state.pinned = state.pinned === i ? null : i;
    showRow(state.pinned !== null ? state.pinned : state.hovered);
    drawOverlay();
  }

  // ------------------------------------------------------------------------------ controls
  function legend() {
    const box = $("legend");
    box.replaceChildren();
    if (state.colourBy === "uncertainty") { uncertaintyLegend(box); return; }
    const byLabel = state.colourBy === "label";
    const names = byLabel ? meta.classes : Array.from({ length: K }, (_, k) => `cluster ${k}` + (isOff(k) ? " (off)" : ""));
    const palette = byLabel ? labelColours : clusterColours;
    const hidden = state.hidden[state.colourBy];
    names.forEach((name, g) => {
      const off = !byLabel && isOff(g);
      const entry = el("span", { className: "entry" + (hidden.has(g) ? " hidden" : "") + (off ? " off" : "") });
      entry.dataset.group = String(g);
      const swatch = el("span", { className: "swatch" });
      swatch.style.background = palette[g];
      entry.append(swatch, document.createTextNode(name));
      entry.addEventListener("click", () => {
        if (hidden.has(g)) hidden.delete(g); else hidden.add(g);
        legend();
        draw();
      });
      box.append(entry);
    });
  }
  function uncertaintyLegend(box) {
    const unsure = meta.uncertainty.unsure;
    const scale = el("div", { className: "ramp" });
    scale.style.background = `linear-gradient(to right, ${UNCERTAINTY_RAMP.map((c, i) => `${c} ${(100 * i / (UNCERTAINTY_RAMP.length - 1)).toFixed(2)}%`).join(", ")})`;
    if (unsure < largestUncertainty) {
      const mark = el("span", { className: "ramp-mark" });
      mark.style.left = (100 * unsure / largestUncertainty).toFixed(2) + "%";
      scale.append(mark);
    }
    const ends = el("div", { className: "ramp-ends" });
    ends.append(el("span", null, "0"), el("span", null, format(largestUncertainty)));
    const share = el("p", { id: "uncertainty-share" },
      `${(100 * uncertainties().share).toFixed(1)}% of ${meta.rows_shown < meta.rows_total ? "the rows shown" : "rows"} have uncertainty above ${unsure}`);
    const what = el("p", { className: "hint" },
      "Uncertainty: 1 − the row's largest cluster probability (from all " + meta.components +
      " components). The unsure are drawn larger, on top; the bar's mark is at " + unsure + ".");
    const wrap = el("div", { className: "ramp-box" });
    wrap.append(scale, ends, share, what);
    box.append(wrap);
  }
  function controls() {
    const colourBy = $("colour-by");
    if (meta.classes) colourBy.append(el("option", { value: "label" }, meta.label_name));
    colourBy.append(el("option", { value: "cluster" }, "cluster"));
    colourBy.append(el("option", { value: "uncertainty" }, "uncertainty"));
    colourBy.value = state.colourBy;
    colourBy.addEventListener("change", () => { state.colourBy = colourBy.value; legend(); draw(); });
    if (meta.axes.length > 2) {
      for (const [id, key] of [["x-axis", "x"], ["y-axis", "y"]]) {
        const select = $(id);
        meta.axes.forEach((axis, j) => select.append(el("option", { value: String(j) }, axis.name)));
        select.value = String(state[key]);
        $(id + "-label").hidden = false;
        select.addEventListener("change", () => { state[key] = Number(select.value); resetView(); draw(); });
      }
    }
    $("show-ellipses").addEventListener("change", (e) => { state.showEllipses = e.target.checked; draw(); });
    $("show-means").addEventListener("change", (e) => { state.showMeans = e.target.checked; draw(); });
    $("show-density").addEventListener("change", (e) => { state.showDensity = e.target.checked; draw(); });
    $("reset-view").addEventListener("click", () => { resetView(); draw(); });

    let drag = null;
    const position = (e) => { const box = overlay.getBoundingClientRect(); return [e.clientX - box.left, e.clientY - box.top]; };
    overlay.addEventListener("mousedown", (e) => { drag = { start: position(e), view: { ...state.view }, moved: false }; });
    window.addEventListener("mouseup", (e) => {
      if (!drag) return;
      const wasDrag = drag.moved;
      drag = null;
      if (wasDrag || e.target !== overlay) return;
      const [sx, sy] = position(e);
      const k = nearestMean(sx, sy);
      if (k !== null) { showCluster(k); return; }
      const i = nearest(sx, sy);
      if (i !== null) pin(i);
      else if (state.pinned !== null) pin(state.pinned);  // a click on empty space unpins
    });
    overlay.addEventListener("mousemove", (e) => {
      const [sx, sy] = position(e);
      if (drag) {
        const dx = sx - drag.start[0], dy = sy - drag.start[1];
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        if (!drag.moved) return;
        const v = drag.view, w = cssWidth - MARGIN.left - MARGIN.right, h = cssHeight - MARGIN.top - MARGIN.bottom;
        const ux = (dx / w) * (v.x1 - v.x0), uy = (dy / h) * (v.y1 - v.y0);
        state.view = { x0: v.x0 - ux, x1: v.x1 - ux, y0: v.y0 + uy, y1: v.y1 + uy };
        draw();
        return;
      }
      const i = nearest(sx, sy);
      if (i !== state.hovered) {
        state.hovered = i;
        if (state.pinned === null) showRow(i);
        drawOverlay();
      }
    });
    overlay.addEventListener("mouseleave", () => {
      state.hovered = null;
      if (state.pinned === null) showRow(null);
      drawOverlay();
    });
    let resizing = null;
    window.addEventListener("resize", () => {  // redraw at the new size, once it settles
      clearTimeout(resizing);
      resizing = setTimeout(() => { size(); draw(); }, 100);
    });
    overlay.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [sx, sy] = position(e);
      const [cx, cy] = toData(sx, sy);
      const f = Math.exp(Math.max(-1, Math.min(1, e.deltaY * 0.0015)));
      const v = state.view;
      state.view = { x0: cx + (v.x0 - cx) * f, x1: cx + (v.x1 - cx) * f, y0: cy + (v.y0 - cy) * f, y1: cy + (v.y1 - cy) * f };
      draw();
    }, { passive: false });
  }

  // -------------------------------------------------------------------------------- tables
  // rowClass(r): a class for row r (as "off"), or ""
  function table(columns, rows, onClick, rowClass) {
    const t = el("table", { className: "data" });
    const head = el("tr");
    columns.forEach((c) => head.append(el("th", null, c)));
    t.append(head);
    rows.forEach((cells, r) => {
      const tr = el("tr");
      cells.forEach((c) => tr.append(el("td", null, c === null || c === undefined ? "" : String(c))));
      if (onClick) { tr.classList.add("clickable"); tr.addEventListener("click", () => onClick(r)); }
      if (rowClass && rowClass(r)) tr.classList.add(rowClass(r));
      t.append(tr);
    });
    return t;
  }
  function section(title, ...nodes) {
    const box = el("div");
    box.append(el("h2", null, title), ...nodes);
    $("tables").append(box);
    return box;
  }
  // value ± error, both to the decimals that show the error to two significant digits (at
  // most four): report/text.py's plus_minus
  function plusMinus(value, error) {
    if (!(Number.isFinite(error) && error > 0)) return `${value.toFixed(4)} ± ${error.toFixed(4)}`;
    const decimals = Math.min(4, Math.max(0, 1 - Math.floor(Math.log10(error))));
    return `${value.toFixed(decimals)} ± ${error.toFixed(decimals)}`;
  }
  function tables() {
    const s = meta.summary, m = s.mixture;
    const names = meta.axes.length < meta.components
      ? [...meta.axes.map((a) => a.name), "…"] : meta.axes.map((a) => a.name);
    // the terminal's column names: "PC1 (9.70%)" -> "PC1", "UMAP 1" -> "UMAP1"
    const short = names.map((name) => name.replace(/ \(.*\)$/, "").replace(/ /g, ""));
    // with a bootstrap (run --uncertainty) each number ± its standard error, as the terminal
    const u = s.uncertainty ? s.uncertainty.parameters : null;
    const cell = (value, error) => (error === undefined ? value.toFixed(4) : plusMinus(value, error));
    const errorOf = (name, k, j) => (u ? (j === undefined ? u[name].standard_error[k] : u[name].standard_error[k][j]) : undefined);
    const clusterRows = m.weights.map((w, k) => [k, cell(w, errorOf("weights", k)),
      ...m.means[k].slice(0, meta.axes.length).map((v, j) => cell(v, errorOf("means", k, j))),
      ...(kept ? [isOff(k) ? "off" : "kept"] : [])]);
    const offRow = kept ? (k) => (isOff(k) ? "off" : "") : undefined;
    if (s.uncertainty) {
      const b = s.uncertainty;
      const collapsed = b.collapsed.length ? `; ${b.collapsed.length} collapsed and left out` : "";
      section("Bootstrap", el("p", { id: "bootstrap-note" },
        `${b.resamples} ${b.kind} resamples (seed ${b.seed}), refitted from the converged model: each number ± its standard error${collapsed}. The ${Math.round(b.level * 100)}% percentile intervals are in clusters.csv and summary.json.`));
    }
    section("Means of the clusters (click a row to list its rows)",
      table(["cluster", "weight", ...short.slice(0, meta.axes.length), ...(kept ? ["status"] : [])],
        clusterRows, (k) => showCluster(k), offRow));
    section("Standard deviations of the clusters",
      table(["cluster", ...short.slice(0, meta.axes.length)], m.standard_deviations.map((row, k) => [k,
        ...row.slice(0, meta.axes.length).map((v, j) => cell(v, errorOf("standard_deviations", k, j)))]), undefined, offRow));
    if (s.metrics) {
      const a = s.metrics;
      section("Agreement with the true labels",
        table(["measure", "value"], [
          ["adjusted Rand index", a.adjusted_rand_index.toFixed(4)],
          ["normalised mutual information", a.normalized_mutual_info.toFixed(4)],
          ["accuracy after matching clusters to labels", a.matched_accuracy.toFixed(4)],
        ]),
        el("h3", null, "Matching (cluster → label)"),
        table(["cluster", "label"], Object.entries(a.cluster_to_label).map(([k, v]) => [k, matched(Number(k)) ?? v])));
    }
    // what lower_bound is: EM's mean log-likelihood, or the variational lower bound (a total)
    const bound = kept ? "lower bound" : "mean log-likelihood";
    const stop = [
      ["converged", String(m.converged)], ["iterations (passes)", m.n_iter],
      [bound, m.lower_bound.toFixed(6)], ["stopping rule", m.stopping], ["tol", m.tol],
      ["acceleration", m.acceleration === null ? "none" : m.acceleration],
      [`last change of the ${bound}`, m.last_change === null ? "" : m.last_change.toPrecision(3)],
      ["Aitken's distance to the limit", m.aitken_gap === null ? "" : m.aitken_gap.toPrecision(3)],
    ];
    section(kept ? "How the variational fit stopped" : "How EM stopped", table(["", ""], stop));
    section("Configuration", table(["option", "value"], Object.entries(s.config).map(([k, v]) => [k, JSON.stringify(v)])));
    const d = s.data;
    section("Data", table(["", ""], [
      ["name", d.name], ["shape", d.shape.join(" × ")], ["dtype", d.dtype], ["source", d.source],
      ["SHA-256", d.sha256], ["verified", d.verified === null ? "no recorded hash" : String(d.verified)],
    ]));
    if (s.timings_seconds) section("Time", table(["stage", "seconds"], Object.entries(s.timings_seconds).map(([k, v]) => [k, v.toFixed(2)])));
    if (s.versions) section("Versions", table(["package", "version"], Object.entries(s.versions)));
    for (const analysis of meta.analyses) {
      const nodes = [];
      if (analysis.figure) {
        const figure = el("figure");
        figure.append(el("img", { src: analysis.figure, alt: analysis.title }));
        nodes.push(figure);
      }
      if (analysis.columns.length) {
        const wrap = el("div", { className: "scroll" });
        wrap.append(table(analysis.columns, analysis.rows));
        nodes.push(wrap);
      }
      section(analysis.title, ...nodes).id = "analysis-" + analysis.name;
    }
  }

  // "3 of 10 components kept (weight ≥ 0.01); switched off: 0, 2, 5 (total weight 0.0023)"
  function keptNote() {
    const off = Array.from({ length: K }, (_, k) => k).filter(isOff);
    const total = off.reduce((sum, k) => sum + mixture.weights[k], 0);
    const note = $("kept-note");
    note.hidden = false;
    note.textContent = `${kept.size} of ${K} components kept (weight ≥ ${mixture.kept_weight})` +
      (off.length ? `; switched off: ${off.join(", ")} (total weight ${Number(total.toPrecision(2))})` : "");
  }

  // -------------------------------------------------------------------------------- start
  async function start() {
    document.title = meta.title;
    $("title").textContent = meta.title;
    const s = meta.summary;
    $("subtitle").textContent = `${meta.rows_total.toLocaleString("en")} rows × ${s.data.shape[1].toLocaleString("en")} features, ` +
      (meta.projection === "PCA" ? `projected to ${meta.components} components; `
        : `embedded in ${meta.components} dimensions by ${meta.projection}; `) +
      `${K}-component ${mixture.covariance_type} ${kept ? "variational " : ""}Gaussian mixture; ` +
      `data SHA-256 ${s.data.sha256.slice(0, 12)}`;
    if (kept) keptNote();
    if (meta.rows_shown < meta.rows_total) {
      const notice = $("sample-notice");
      notice.hidden = false;
      notice.textContent = `Showing a uniform sample of ${meta.rows_shown.toLocaleString("en")} of the ` +
        `${meta.rows_total.toLocaleString("en")} rows (a page holds at most ${meta.max_points.toLocaleString("en")}); ` +
        "the tables are those of all rows.";
    }
    const names = ["clusters", "labels", "rows", "probabilities", "images", ...meta.axes.map((_, j) => "axis" + j)];
    const buffers = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await blob(name)])));
    state.axes = meta.axes.map((axis, j) => ({
      centre: axis.centre, scale: axis.scale,
      values: axis.dtype === "f4" ? new Float32Array(buffers["axis" + j]) : new Float64Array(buffers["axis" + j]),
    }));
    state.clusters = integers(buffers.clusters, n);
    state.labels = meta.classes ? integers(buffers.labels, n) : null;
    state.rows = buffers.rows ? new Uint32Array(buffers.rows) : null;
    state.probabilities = buffers.probabilities ? new Uint8Array(buffers.probabilities) : null;
    state.images = buffers.images ? new Uint8Array(buffers.images) : null;
    if (meta.axes.length === 1) state.y = null;
    size();
    resetView();
    controls();
    legend();
    draw();
    tables();
    $("status").hidden = true;
    api.readyMs = performance.now();  // since the navigation started
    document.body.dataset.ready = "true";
  }
  start().catch((error) => {
    api.errors.push(String(error));
    const status = $("status");
    status.hidden = false;
    status.textContent = "This report could not be drawn: " + error.message;
    throw error;
  });
})();
