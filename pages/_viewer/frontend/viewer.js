// The reader's film viewer: a Streamlit custom component in plain JavaScript (no build step).
//
// Window/level, zoom and pan are drawn here on a canvas without a server round trip. Each
// frame samples only the canvas's own pixels from the film (a 2x2 box-filtered pyramid for
// zoomed-out views), so the work per frame depends on the canvas size, not on the film's:
// a 2500 px film costs no more than a 500 px one. Mouse moves are coalesced to one frame per
// animation frame. Telemetry (counts of finished gestures, time with the heatmap visible)
// goes back with Streamlit.setComponentValue at the end of each gesture, never per mouse move.
//
// Streamlit's component protocol (what streamlit-component-lib wraps) is spoken directly:
// "componentReady" out, "render" in with the arguments, "setComponentValue" and
// "setFrameHeight" out.
(() => {
  'use strict';

  const post = (type, data) => window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, '*');
  const canvas = document.getElementById('film');
  const ctx = canvas.getContext('2d', { alpha: false });
  const $ = (id) => document.getElementById(id);

  const DEFAULT_VIEW = { level: 0.5, width: 1.0, zoom: 1.0, cx: 0.5, cy: 0.5, invert: false };
  let args = null;
  let filmUrl = null;
  let heatUrl = null;
  let film = null;      // { w, h, levels: [{ w, h, data: Uint8Array }] }
  let heat = null;      // HTMLImageElement of the heatmap overlay
  let view = { ...DEFAULT_VIEW };
  let preset = 'full';
  let heatOn = true;
  let opacity = 0.5;
  let panMode = false;
  let frame = 0;        // pending requestAnimationFrame id
  let image = null;     // ImageData at canvas size
  let out32 = null;
  let xs = null;
  const lut = new Uint32Array(256);
  const frameTimes = [];
  const tele = { window_level_changes: 0, zoom_changes: 0, pan_changes: 0, heatmap_toggles: 0 };
  let heatMs = 0;
  let heatSince = null;

  // --- telemetry ----------------------------------------------------------------------------

  function heatVisibleMs() {
    return Math.round(heatMs + (heatSince !== null ? performance.now() - heatSince : 0));
  }

  function report() {
    const value = {
      ...tele,
      heatmap_visible_ms: heat ? heatVisibleMs() : null,
      heatmap_on: Boolean(heat && heatOn),
      state: {
        level: round3(view.level), width: round3(view.width), zoom: round3(view.zoom),
        invert: view.invert, preset, opacity: heat ? round3(opacity) : null,
      },
    };
    post('streamlit:setComponentValue', { value, dataType: 'json' });
  }

  function round3(x) { return Math.round(x * 1000) / 1000; }

  let wheelTimer = 0;
  function wheelDone() {
    clearTimeout(wheelTimer);
    wheelTimer = setTimeout(() => { tele.zoom_changes += 1; report(); }, 250);
  }

  // --- film decoding ------------------------------------------------------------------------

  function loadImage(url) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error(`could not load ${url}`));
      img.src = url;
    });
  }

  function absolute(url) {
    // Media URLs are root-relative to the Streamlit server ("/media/..."); this frame lives
    // under <base>/component/..., so the base path is what precedes "/component/".
    if (!url || /^(data:|https?:)/.test(url)) return url;
    const base = window.location.pathname.split('/component/')[0];
    return base + url;
  }

  function greyLevels(img) {
    const off = document.createElement('canvas');
    off.width = img.naturalWidth;
    off.height = img.naturalHeight;
    const octx = off.getContext('2d', { willReadFrequently: true });
    octx.drawImage(img, 0, 0);
    const rgba = octx.getImageData(0, 0, off.width, off.height).data;
    const w = off.width;
    const h = off.height;
    const data = new Uint8Array(w * h);
    for (let i = 0, j = 0; i < data.length; i += 1, j += 4) data[i] = rgba[j];
    const levels = [{ w, h, data }];
    // Box-filtered halvings down to ~256 px: zoomed-out views sample a level close to the
    // canvas resolution instead of skipping film pixels (no aliasing, no moire).
    while (Math.max(levels[levels.length - 1].w, levels[levels.length - 1].h) > 256) {
      const src = levels[levels.length - 1];
      const lw = src.w >> 1;
      const lh = src.h >> 1;
      const dst = new Uint8Array(lw * lh);
      for (let y = 0; y < lh; y += 1) {
        const r0 = 2 * y * src.w;
        const r1 = r0 + src.w;
        for (let x = 0; x < lw; x += 1) {
          const c = 2 * x;
          dst[y * lw + x] = (src.data[r0 + c] + src.data[r0 + c + 1] + src.data[r1 + c] + src.data[r1 + c + 1] + 2) >> 2;
        }
      }
      levels.push({ w: lw, h: lh, data: dst });
    }
    return { w, h, levels };
  }

  // --- drawing ------------------------------------------------------------------------------

  function fitScale() {
    return Math.min(canvas.width / film.w, canvas.height / film.h);
  }

  function scale() { return fitScale() * view.zoom; }

  function origin() {
    const s = scale();
    return [canvas.width / 2 - view.cx * film.w * s, canvas.height / 2 - view.cy * film.h * s];
  }

  function buildLut() {
    const lo = view.level - view.width / 2;
    for (let i = 0; i < 256; i += 1) {
      let v = (i / 255 - lo) / view.width;
      v = v < 0 ? 0 : v > 1 ? 1 : v;
      if (view.invert) v = 1 - v;
      const g = Math.round(v * 255);
      lut[i] = 0xff000000 | (g << 16) | (g << 8) | g;   // ABGR in little-endian memory
    }
  }

  function draw() {
    frame = 0;
    if (!film) return;
    const started = performance.now();
    const cw = canvas.width;
    const ch = canvas.height;
    if (!image || image.width !== cw || image.height !== ch) {
      image = ctx.createImageData(cw, ch);
      out32 = new Uint32Array(image.data.buffer);
      xs = new Int32Array(cw);
    }
    const s = scale();
    let k = 0;
    while (k + 1 < film.levels.length && s * (1 << (k + 1)) <= 1.0001) k += 1;
    const level = film.levels[k];
    const sl = s * (film.w / level.w);            // canvas px per pixel of this level
    const [ox, oy] = origin();
    for (let x = 0; x < cw; x += 1) {
      const lx = Math.floor((x + 0.5 - ox) / sl);
      xs[x] = lx >= 0 && lx < level.w ? lx : -1;
    }
    buildLut();
    const black = 0xff000000;
    const src = level.data;
    let p = 0;
    for (let y = 0; y < ch; y += 1) {
      const ly = Math.floor((y + 0.5 - oy) / sl);
      if (ly < 0 || ly >= level.h) {
        out32.fill(black, p, p + cw);
        p += cw;
        continue;
      }
      const row = ly * level.w;
      for (let x = 0; x < cw; x += 1, p += 1) {
        const xi = xs[x];
        out32[p] = xi < 0 ? black : lut[src[row + xi]];
      }
    }
    ctx.putImageData(image, 0, 0);
    if (heat && heatOn && opacity > 0) {
      ctx.globalAlpha = opacity;
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(heat, ox, oy, film.w * s, film.h * s);
      ctx.globalAlpha = 1;
    }
    frameTimes.push(performance.now() - started);
    if (frameTimes.length > 500) frameTimes.shift();
    readout();
  }

  function redraw() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function readout() {
    const L = args ? args.labels : {};
    $('readout').textContent = `${L.window || 'W'} ${Math.round(view.width * 100)} · ${L.level || 'L'} ${Math.round(view.level * 100)} · ${view.zoom.toFixed(1)}×`;
  }

  function resize() {
    if (!args) return;
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    const cssWidth = document.body.clientWidth;
    const cssHeight = args.canvas_height;
    canvas.style.height = `${cssHeight}px`;
    canvas.width = Math.max(1, Math.round(cssWidth * ratio));
    canvas.height = Math.max(1, Math.round(cssHeight * ratio));
    redraw();
    post('streamlit:setFrameHeight', { height: document.body.scrollHeight });
  }

  // --- view changes -------------------------------------------------------------------------

  function clampView() {
    view.zoom = Math.min(Math.max(view.zoom, 1), args ? args.max_zoom : 8);
    view.width = Math.min(Math.max(view.width, args ? args.min_width : 0.02), 1);
    view.level = Math.min(Math.max(view.level, 0), 1);
    view.cx = Math.min(Math.max(view.cx, 0), 1);
    view.cy = Math.min(Math.max(view.cy, 0), 1);
  }

  function setPreset(name) {
    const found = (args.presets || []).find((p) => p.name === name);
    if (!found) return;
    view.level = found.level;
    view.width = found.width;
    preset = name;
    tele.window_level_changes += 1;
    buttons();
    redraw();
    report();
  }

  function toggleInvert() {
    view.invert = !view.invert;
    tele.window_level_changes += 1;
    buttons();
    redraw();
    report();
  }

  function reset() {
    const zoomed = view.zoom !== 1 || view.cx !== 0.5 || view.cy !== 0.5;
    const windowed = view.level !== 0.5 || view.width !== 1 || view.invert;
    view = { ...DEFAULT_VIEW };
    preset = 'full';
    if (zoomed) tele.zoom_changes += 1;
    if (windowed) tele.window_level_changes += 1;
    buttons();
    redraw();
    report();
  }

  function setHeat(on) {
    if (!heat || on === heatOn) return;
    heatOn = on;
    if (on) heatSince = performance.now();
    else if (heatSince !== null) { heatMs += performance.now() - heatSince; heatSince = null; }
    tele.heatmap_toggles += 1;
    buttons();
    redraw();
    report();
  }

  function buttons() {
    const L = args.labels;
    $('invert').textContent = L.invert;
    $('invert').setAttribute('aria-pressed', String(view.invert));
    $('pan').textContent = L.pan;
    $('pan').setAttribute('aria-pressed', String(panMode));
    $('reset').textContent = L.reset;
    $('heat').textContent = L.heatmap;
    $('heat').setAttribute('aria-pressed', String(heatOn));
    $('opacity-label').textContent = L.opacity;
    document.querySelectorAll('#presets button').forEach((b) => {
      b.setAttribute('aria-pressed', String(b.dataset.preset === preset));
    });
    canvas.classList.toggle('panning', panMode);
  }

  function buildPresets() {
    const holder = $('presets');
    holder.textContent = '';
    (args.presets || []).forEach((p, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.preset = p.name;
      b.textContent = `${i + 1} ${p.label}`;
      b.addEventListener('click', () => setPreset(p.name));
      holder.appendChild(b);
    });
  }

  // --- mouse --------------------------------------------------------------------------------

  let drag = null;   // { mode: 'wl' | 'pan', x, y, view, moved }

  canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  canvas.addEventListener('pointerdown', (e) => {
    if (!film) return;
    const pan = panMode || e.button === 2 || e.button === 1 || e.shiftKey || e.ctrlKey;
    drag = { mode: pan ? 'pan' : 'wl', x: e.clientX, y: e.clientY, view: { ...view }, moved: false };
    canvas.setPointerCapture(e.pointerId);
    e.preventDefault();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 2) return;
    drag.moved = true;
    const cssWidth = canvas.clientWidth || 1;
    const cssHeight = canvas.clientHeight || 1;
    if (drag.mode === 'wl') {
      // As on a workstation: horizontal drag changes the window (contrast), vertical the
      // level (brightness); a full canvas width spans the whole window range.
      view.width = drag.view.width + dx / cssWidth;
      view.level = drag.view.level - dy / cssHeight;
      preset = 'custom';
    } else {
      const s = scale() / (canvas.width / cssWidth);   // css px per film px
      view.cx = drag.view.cx - dx / (s * film.w);
      view.cy = drag.view.cy - dy / (s * film.h);
    }
    clampView();
    redraw();
  });
  const endDrag = () => {
    if (!drag) return;
    if (drag.moved) {
      if (drag.mode === 'wl') { tele.window_level_changes += 1; buttons(); } else tele.pan_changes += 1;
      report();
    }
    drag = null;
  };
  canvas.addEventListener('pointerup', endDrag);
  canvas.addEventListener('pointercancel', endDrag);

  canvas.addEventListener('wheel', (e) => {
    if (!film) return;
    e.preventDefault();
    // Zoom about the cursor: the film point under the mouse stays where it is.
    const rect = canvas.getBoundingClientRect();
    const ratio = canvas.width / rect.width;
    const mx = (e.clientX - rect.left) * ratio;
    const my = (e.clientY - rect.top) * ratio;
    const before = scale();
    const fx = (mx - canvas.width / 2) / before + view.cx * film.w;
    const fy = (my - canvas.height / 2) / before + view.cy * film.h;
    const step = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    view.zoom *= Math.exp(-step * 0.0015);
    clampView();
    const after = scale();
    view.cx = (fx - (mx - canvas.width / 2) / after) / film.w;
    view.cy = (fy - (my - canvas.height / 2) / after) / film.h;
    if (view.zoom === 1) { view.cx = 0.5; view.cy = 0.5; }
    clampView();
    redraw();
    wheelDone();
  }, { passive: false });

  // --- keys ---------------------------------------------------------------------------------

  // The viewer's own keys; the page's (Y, N, C, Enter) are handed to the page's handler, so a
  // reader who clicked into the film keeps their shortcuts.
  function viewerKey(key) {
    if (!args) return false;
    const lower = key.toLowerCase();
    if (lower === 'i') toggleInvert();
    else if (lower === 'r') reset();
    else if (lower === 'h') setHeat(!heatOn);
    else if (lower === 'p') { panMode = !panMode; buttons(); }
    else if (/^[1-9]$/.test(key) && (args.presets || [])[Number(key) - 1]) setPreset(args.presets[Number(key) - 1].name);
    else return false;
    return true;
  }
  window.rdsViewerKey = viewerKey;

  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.target.tagName === 'INPUT') return;
    const pageKeys = ['y', 'n', 'c', 'enter'];
    if (pageKeys.includes(e.key.toLowerCase())) {
      e.preventDefault();
      if (typeof window.parent.rdsReaderKey === 'function') window.parent.rdsReaderKey(e.key);
      return;
    }
    if (viewerKey(e.key)) e.preventDefault();
  });

  // --- buttons ------------------------------------------------------------------------------

  $('invert').addEventListener('click', toggleInvert);
  $('reset').addEventListener('click', reset);
  $('pan').addEventListener('click', () => { panMode = !panMode; buttons(); });
  $('heat').addEventListener('click', () => setHeat(!heatOn));
  $('opacity').addEventListener('input', (e) => { opacity = Number(e.target.value) / 100; redraw(); });
  $('opacity').addEventListener('change', () => report());

  // For the browser test and the load test: how long frames take to draw (ms).
  window.rdsViewerStats = () => {
    const sorted = [...frameTimes].sort((a, b) => a - b);
    const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
    return { frames: sorted.length, median: at(0.5), p95: at(0.95), max: sorted.length ? sorted[sorted.length - 1] : null,
             film: film ? [film.w, film.h] : null, canvas: [canvas.width, canvas.height], view: { ...view }, tele: { ...tele } };
  };

  // --- Streamlit protocol -------------------------------------------------------------------

  async function onRender(newArgs) {
    const first = args === null;
    args = newArgs;
    if (first) {
      buildPresets();
      $('help').textContent = args.labels.help;
      window.addEventListener('resize', resize);
    }
    $('heat-controls').hidden = !args.heatmap;
    buttons();
    resize();
    if (args.film !== filmUrl) {
      filmUrl = args.film;
      document.body.dataset.filmLoaded = 'false';
      document.body.dataset.read = args.read || '';
      const img = await loadImage(absolute(filmUrl));
      film = greyLevels(img);
      document.body.dataset.filmLoaded = 'true';
      redraw();
    }
    if (args.heatmap && args.heatmap !== heatUrl) {
      heatUrl = args.heatmap;
      heat = await loadImage(absolute(heatUrl));
      heatSince = heatOn ? performance.now() : null;
      redraw();
    }
  }

  window.addEventListener('message', (event) => {
    const data = event.data;
    if (data && data.type === 'streamlit:render') onRender(data.args).catch((err) => { $('help').textContent = String(err); });
  });
  post('streamlit:componentReady', { apiVersion: 1 });
})();
